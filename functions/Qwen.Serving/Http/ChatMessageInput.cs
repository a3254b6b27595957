namespace Qwen.Serving.Http;

/// <summary>One validated chat message: role (system, user, assistant, tool), text content, and for assistant turns the tool calls it made.</summary>
/// <param name="Role">system, user, assistant or tool (legacy <c>function</c> is read as tool).</param>
/// <param name="Content">Text (text parts joined); null for an assistant turn that only calls tools.</param>
/// <param name="Name">Optional participant name; for a legacy function message, the function's name.</param>
/// <param name="ToolCalls">Calls made by an assistant turn; empty otherwise.</param>
/// <param name="ToolCallId">For a tool message, the call it answers.</param>
public sealed record ChatMessageInput(
    string Role,
    string? Content,
    string? Name = null,
    IReadOnlyList<ToolCallInput>? ToolCalls = null,
    string? ToolCallId = null);
