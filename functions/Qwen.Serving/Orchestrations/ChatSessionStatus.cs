namespace Qwen.Serving.Orchestrations;

/// <summary>Custom status of a chat session: what it is doing and the last answer.</summary>
/// <param name="State"><c>waiting</c> (for a user message), <c>generating</c> or <c>ended</c>.</param>
/// <param name="Turns">Turns answered so far.</param>
/// <param name="LastAnswer">The latest assistant answer.</param>
/// <param name="LastError">Why the latest turn failed (the session keeps waiting), or null.</param>
public sealed record ChatSessionStatus(string State, int Turns, string? LastAnswer, string? LastError = null);
