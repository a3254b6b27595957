namespace Qwen.Inference.Chat;

/// <summary>One message of an OpenAI-style conversation, host-agnostic.</summary>
/// <param name="Role">Who wrote it.</param>
/// <param name="Content">The text (null is treated as empty, as the reference does).</param>
/// <param name="ToolCalls">For an assistant message: the tool call it made. Qwen-7B's ReAct format holds one per message.</param>
/// <param name="Name">Optional author or function name (not rendered; the reference ignores it).</param>
/// <param name="ToolCallId">For a tool message: the call it answers (not rendered; results follow their call in order).</param>
public sealed record QwenChatMessage(
    QwenChatRole Role,
    string? Content,
    IReadOnlyList<QwenToolCall>? ToolCalls = null,
    string? Name = null,
    string? ToolCallId = null)
{
    /// <summary>A system message.</summary>
    public static QwenChatMessage System(string content) => new(QwenChatRole.System, content);
    /// <summary>A user message.</summary>
    public static QwenChatMessage User(string content) => new(QwenChatRole.User, content);
    /// <summary>An assistant message without a tool call.</summary>
    public static QwenChatMessage Assistant(string? content) => new(QwenChatRole.Assistant, content);
    /// <summary>An assistant message that calls a tool; <paramref name="content"/> becomes its Thought.</summary>
    public static QwenChatMessage AssistantToolCall(string? content, string name, string arguments, string? id = null)
        => new(QwenChatRole.Assistant, content, [new QwenToolCall(name, arguments, id)]);
    /// <summary>A tool result.</summary>
    public static QwenChatMessage Tool(string content, string? toolCallId = null, string? name = null)
        => new(QwenChatRole.Tool, content, null, name, toolCallId);
}
