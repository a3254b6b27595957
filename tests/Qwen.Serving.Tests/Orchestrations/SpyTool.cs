using Qwen.Serving.Tools;

namespace Qwen.Serving.Tests.Orchestrations;

/// <summary>A dangerous-sounding tool that counts invocations; registered in DI but kept out of the allow-list.</summary>
public sealed class SpyTool : ITool
{
    private int _invocations;
    public int Invocations => Volatile.Read(ref _invocations);
    public string Name => "shell";
    public string HumanName => "Shell";
    public string Description => "Runs a shell command.";
    public string ParametersJson => "[]";

    public Task<string> InvokeAsync(string arguments, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _invocations);
        return Task.FromResult("executed");
    }
}
