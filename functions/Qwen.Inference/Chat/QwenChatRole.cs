namespace Qwen.Inference.Chat;

/// <summary>Who wrote a message of an OpenAI-style conversation.</summary>
public enum QwenChatRole
{
    /// <summary>The system prompt (only as the first message).</summary>
    System,
    /// <summary>The user.</summary>
    User,
    /// <summary>The assistant, possibly with a tool call.</summary>
    Assistant,
    /// <summary>A tool (function) result; OpenAI's <c>tool</c> and legacy <c>function</c> roles.</summary>
    Tool,
}
