using Microsoft.DurableTask;
using Qwen.Serving.Tools;

namespace Qwen.Serving.Orchestrations;

/// <summary>Activity: runs an allow-listed tool. Checks the allow-list again (defence in depth): a name outside it never runs.</summary>
public sealed class CallToolActivity(ToolRegistry tools) : TaskActivity<ToolCall, string>
{
    /// <inheritdoc />
    public override Task<string> RunAsync(TaskActivityContext context, ToolCall input) => ExecuteAsync(input, CancellationToken.None);

    /// <summary>The activity body.</summary>
    /// <exception cref="UnauthorizedAccessException">The tool is not allow-listed.</exception>
    public Task<string> ExecuteAsync(ToolCall input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!tools.TryGet(input.Name, out var tool))
        {
            throw new UnauthorizedAccessException($"The tool '{input.Name}' is not in the allow-list; it was not run.");
        }
        return tool.InvokeAsync(input.Arguments, cancellationToken);
    }
}
