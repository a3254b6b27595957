namespace Qwen.Inference.Generation;

/// <summary>One step of a streamed generation: new text and the tokens behind it; the last update has <see cref="FinishReason"/> and <see cref="Usage"/>.</summary>
/// <param name="TextDelta">Decoded text added by this update; never splits a UTF-8 character; excludes stop text.</param>
/// <param name="Tokens">Tokens sampled in this update (may be empty when text was held back, or on the final update).</param>
/// <param name="FinishReason">Set on the final update only.</param>
/// <param name="Usage">Set on the final update only.</param>
public sealed record GenerationUpdate(
    string TextDelta,
    IReadOnlyList<GeneratedToken> Tokens,
    FinishReason? FinishReason = null,
    GenerationUsage? Usage = null);

/// <summary>A sampled token with its log-probability and, when asked for, the top alternatives.</summary>
/// <param name="Id">Token id.</param>
/// <param name="Logprob">Natural-log probability of the token under the final sampling distribution's logits (log-softmax of processed logits); NaN when not requested.</param>
/// <param name="TopLogprobs">Most likely alternatives, best first; empty unless requested.</param>
public sealed record GeneratedToken(int Id, float Logprob, IReadOnlyList<TokenLogprob> TopLogprobs);

/// <summary>An alternative token and its log-probability.</summary>
public readonly record struct TokenLogprob(int Id, float Logprob);

/// <summary>Why a generation ended.</summary>
public enum FinishReason
{
    /// <summary>A stop token or stop string was produced.</summary>
    Stop,
    /// <summary>The max-new-tokens budget or the context was used up.</summary>
    Length,
}

/// <summary>Token counts of one generation.</summary>
/// <param name="PromptTokens">Prompt length.</param>
/// <param name="CompletionTokens">Tokens generated (stop tokens included).</param>
/// <param name="CachedPromptTokens">Prompt tokens reused from a cached prefix (not prefilled again).</param>
/// <param name="TimeToFirstToken">Time from admission to the first sampled token.</param>
public sealed record GenerationUsage(int PromptTokens, int CompletionTokens, int CachedPromptTokens, TimeSpan TimeToFirstToken)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}
