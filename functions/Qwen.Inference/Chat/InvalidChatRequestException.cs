namespace Qwen.Inference.Chat;

/// <summary>A conversation that cannot be turned into a Qwen prompt (maps to HTTP 400).</summary>
public sealed class InvalidChatRequestException(string message) : ArgumentException(message);
