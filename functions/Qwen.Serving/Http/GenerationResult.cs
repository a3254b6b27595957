using Qwen.Inference.Generation;

namespace Qwen.Serving.Http;

/// <summary>One finished choice: text, sampled tokens, why it ended and the engine's usage.</summary>
public sealed record GenerationResult(string Text, IReadOnlyList<GeneratedToken> Tokens, FinishReason FinishReason, GenerationUsage Usage);
