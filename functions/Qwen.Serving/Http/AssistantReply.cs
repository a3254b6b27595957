namespace Qwen.Serving.Http;

/// <summary>The model's ReAct reply, parsed: either a tool call (name + raw argument text) or plain content.</summary>
/// <param name="Content">Final answer, or the thought before a tool call; null when empty.</param>
/// <param name="ToolName">The called tool; null for a final answer.</param>
/// <param name="ToolArguments">The Action Input text (JSON) of the call.</param>
public sealed record AssistantReply(string? Content, string? ToolName = null, string? ToolArguments = null)
{
    public bool IsToolCall => ToolName is not null;
}
