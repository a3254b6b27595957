namespace Qwen.Functions.Tests.Orchestrations;

/// <summary>Test classes that start <see cref="FunctionsTestHost"/>s run one at a time: each host binds a random local port, and hosts starting in parallel can pick the same one.</summary>
[CollectionDefinition(Name)]
public sealed class DurableHostCollection
{
    public const string Name = "Durable test host";
}
