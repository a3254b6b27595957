namespace Qwen.Inference.Chat;

/// <summary>A tool call made by the assistant (OpenAI <c>function_call</c> / one <c>tool_calls</c> entry).</summary>
/// <param name="Name">The function name.</param>
/// <param name="Arguments">The arguments exactly as the model wrote them (normally JSON text).</param>
/// <param name="Id">The OpenAI tool call id, if any (not part of the Qwen prompt).</param>
public sealed record QwenToolCall(string Name, string Arguments, string? Id = null);
