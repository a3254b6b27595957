namespace Qwen.Inference.Generation;

/// <summary>A whole generation collected from its stream: the text, the tokens behind it, why it ended and the usage.</summary>
/// <param name="Text">All text deltas concatenated (stop text excluded).</param>
/// <param name="Tokens">Every reported token in order (stop tokens are counted in usage but not reported).</param>
/// <param name="FinishReason">Why generation ended.</param>
/// <param name="Usage">Token counts and time to first token.</param>
public sealed record GenerationResult(string Text, IReadOnlyList<GeneratedToken> Tokens, FinishReason FinishReason, GenerationUsage Usage);
