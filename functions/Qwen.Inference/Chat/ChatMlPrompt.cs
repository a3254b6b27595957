namespace Qwen.Inference.Chat;

/// <summary>A built prompt: the ids to feed the model, the same prompt as text, and how many history turns were kept.</summary>
/// <param name="Tokens">Prompt ids, assembled piece by piece (spec §5.1); control tokens are ids, content is plain text.</param>
/// <param name="RawText">The prompt as text (<c>raw_text</c> of the reference), for logs and response offsets.</param>
/// <param name="HistoryTurnsKept">How many of the newest history turns fit the window (all, in completion mode).</param>
public sealed record ChatMlPrompt(IReadOnlyList<int> Tokens, string RawText, int HistoryTurnsKept);
