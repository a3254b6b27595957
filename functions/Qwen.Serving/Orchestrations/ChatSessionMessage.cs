namespace Qwen.Serving.Orchestrations;

/// <summary>Payload of the <c>UserMessage</c> external event: the next user message, or <see cref="End"/> to close the session.</summary>
public sealed record ChatSessionMessage(string? Content, bool End = false);
