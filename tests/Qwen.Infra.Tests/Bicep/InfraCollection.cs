namespace Qwen.Infra.Tests.Bicep;

/// <summary>Shares one <see cref="InfraFixture"/> (one lint and one build run) across the test classes.</summary>
[CollectionDefinition(Name)]
public sealed class InfraCollection : ICollectionFixture<InfraFixture>
{
    /// <summary>Collection name.</summary>
    public const string Name = "infra";
}
