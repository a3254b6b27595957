using Qwen.Inference.Generation;

namespace Qwen.Inference.Scoring;

/// <summary>One prompt token scored by the model given the tokens before it.</summary>
/// <param name="Id">The token.</param>
/// <param name="Logprob">Natural-log probability of the token after the prefix (log-softmax over every vocabulary row); null for the first token.</param>
/// <param name="TopLogprobs">Most likely tokens at this position, best first; empty for the first token.</param>
public sealed record PromptTokenScore(int Id, double? Logprob, IReadOnlyList<TokenLogprob> TopLogprobs);
