namespace Qwen.Inference.Scoring;

/// <summary>
/// Scores a prompt: the log-probability of each token given the tokens before it, with the most likely alternatives
/// (OpenAI legacy <c>echo</c> + <c>logprobs</c>; lm-evaluation-harness log-likelihood and perplexity).
/// </summary>
/// <remarks>Implementations are thread-safe. The engines implement it beside <c>IGenerationEngine</c>.</remarks>
public interface IPromptScorer
{
    /// <summary>Runs the prompt once and returns one entry per token; the first has no log-probability.</summary>
    /// <param name="tokens">Prompt token ids (at least one).</param>
    /// <param name="topLogprobs">Alternatives per position (0–20), best first.</param>
    /// <param name="cancellationToken">Stops the forward pass.</param>
    /// <exception cref="Generation.ContextLengthExceededException">The prompt is longer than the context.</exception>
    Task<IReadOnlyList<PromptTokenScore>> ScorePromptAsync(IReadOnlyList<int> tokens, int topLogprobs, CancellationToken cancellationToken = default);
}
