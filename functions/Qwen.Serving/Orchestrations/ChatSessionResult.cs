namespace Qwen.Serving.Orchestrations;

/// <summary>Output of a finished chat session.</summary>
/// <param name="EndReason"><c>idle_timeout</c> or <c>ended_by_user</c>.</param>
/// <param name="Turns">Turns answered over the session.</param>
/// <param name="LastAnswer">The final assistant answer, if any.</param>
/// <param name="History">The bounded history at the end.</param>
public sealed record ChatSessionResult(string EndReason, int Turns, string? LastAnswer, IReadOnlyList<ChatTurnMessage> History);
