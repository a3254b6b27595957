namespace Qwen.Inference.Chat;

/// <summary>What a ReAct-formatted model output asks for: a tool call, or an answer.</summary>
/// <param name="Content">The message text: the Thought before a tool call, or the (final) answer.</param>
/// <param name="ToolName">The <c>Action</c>, when the output calls a tool.</param>
/// <param name="RawArguments">The <c>Action Input</c> text exactly as written (stripped).</param>
/// <param name="ArgumentsJson">The arguments normalized to compact JSON, or null when they are not (lenient) JSON.</param>
public sealed record ReActStep(string Content, string? ToolName, string? RawArguments, string? ArgumentsJson)
{
    /// <summary>True when the output calls a tool.</summary>
    public bool IsToolCall => !string.IsNullOrEmpty(ToolName);

    /// <summary>True when the tool arguments parsed as JSON (after lenient fixes).</summary>
    public bool ArgumentsAreValidJson => ArgumentsJson is not null;

    /// <summary>OpenAI finish reason: <c>function_call</c> for a tool call, else <c>stop</c>.</summary>
    public string FinishReason => IsToolCall ? "function_call" : "stop";
}
