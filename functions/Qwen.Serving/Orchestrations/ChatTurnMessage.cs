namespace Qwen.Serving.Orchestrations;

/// <summary>One ChatML message: role <c>system</c>, <c>user</c> or <c>assistant</c>, and its plain-text content.</summary>
public sealed record ChatTurnMessage(string Role, string Content)
{
    /// <summary>A user message.</summary>
    public static ChatTurnMessage User(string content) => new("user", content);

    /// <summary>An assistant message.</summary>
    public static ChatTurnMessage Assistant(string content) => new("assistant", content);
}
