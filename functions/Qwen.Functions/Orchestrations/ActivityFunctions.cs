using Microsoft.Azure.Functions.Worker;
using Qwen.Serving.Orchestrations;
using Qwen.Serving.Tools;

namespace Qwen.Functions.Orchestrations;

/// <summary>Durable activity triggers: all I/O of the orchestrations (model turns, tools).</summary>
public sealed class ActivityFunctions(GenerateTurnActivity generateTurn, CallToolActivity callTool, ListToolsActivity listTools)
{
    /// <summary>One chat turn on the engine or the GPU worker.</summary>
    [Function(nameof(GenerateTurnActivity))]
    public Task<ChatTurnResult> GenerateTurn([ActivityTrigger] ChatTurnRequest input, CancellationToken cancellationToken)
        => generateTurn.ExecuteAsync(input, cancellationToken);

    /// <summary>One allow-listed tool call.</summary>
    [Function(nameof(CallToolActivity))]
    public Task<string> CallTool([ActivityTrigger] ToolCall input, CancellationToken cancellationToken)
        => callTool.ExecuteAsync(input, cancellationToken);

    /// <summary>The allow-listed tools among those requested.</summary>
    [Function(nameof(ListToolsActivity))]
    public ToolDescriptor[] ListTools([ActivityTrigger] string[]? input)
        => listTools.Execute(input);
}
