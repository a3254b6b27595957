using Microsoft.DurableTask;
using Qwen.Serving.Tools;

namespace Qwen.Serving.Orchestrations;

/// <summary>Activity: the allow-listed tools among those requested (all allowed ones when none are named), so the orchestrator's snapshot is replay-safe.</summary>
public sealed class ListToolsActivity(ToolRegistry tools) : TaskActivity<string[], ToolDescriptor[]>
{
    /// <inheritdoc />
    public override Task<ToolDescriptor[]> RunAsync(TaskActivityContext context, string[] input) => Task.FromResult(Execute(input));

    /// <summary>The activity body.</summary>
    public ToolDescriptor[] Execute(string[]? requested)
        => tools.Allowed
            .Where(t => requested is null || requested.Length == 0 || requested.Contains(t.Name, StringComparer.Ordinal))
            .Select(ToolDescriptor.From)
            .ToArray();
}
