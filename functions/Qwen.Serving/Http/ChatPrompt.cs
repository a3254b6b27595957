namespace Qwen.Serving.Http;

/// <summary>A rendered prompt: its token ids and the stop strings the format needs (e.g. <c>Observation:</c> for ReAct).</summary>
/// <param name="Tokens">Exactly what the model sees.</param>
/// <param name="StopStrings">All stop strings: the caller's, their copies without a leading newline, and those the format needs (<c>Observation:</c> for ReAct).</param>
/// <param name="UsesTools">True when the prompt is in ReAct form and the reply must be parsed for tool calls.</param>
/// <param name="AssistantSoFar">The open assistant text the reply continues (a conversation ending with a tool result or an assistant message); empty for a fresh turn.</param>
public sealed record ChatPrompt(IReadOnlyList<int> Tokens, IReadOnlyList<string> StopStrings, bool UsesTools, string AssistantSoFar = "");
