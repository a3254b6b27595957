using Qwen.Inference.Packaging;

namespace Qwen.Inference.Generation;

/// <summary>Checks a <see cref="GenerationRequest"/> against a model before any compute, so bad requests fail with a message naming the value and the limit.</summary>
public static class GenerationRequestChecks
{
    /// <summary>Most alternatives a request may ask for per position (OpenAI's limit).</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>Stop token ids that always end a generation: <c>&lt;|endoftext|&gt;</c>, <c>&lt;|im_start|&gt;</c>, <c>&lt;|im_end|&gt;</c>.</summary>
    public static IReadOnlyList<int> AlwaysStopIds(ModelManifest manifest) =>
        [manifest.Tokenizer.EndOfTextId, manifest.Tokenizer.ImStartId, manifest.Tokenizer.ImEndId];

    /// <summary>Throws when <paramref name="request"/> cannot run on a model with <paramref name="vocabRows"/> rows and a <paramref name="contextLength"/>-token context.</summary>
    /// <exception cref="ArgumentNullException">The request or its prompt is null.</exception>
    /// <exception cref="ArgumentException">The prompt is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token id, max-new-tokens, top-logprobs or a sampling setting is out of range.</exception>
    /// <exception cref="ContextLengthExceededException">The prompt plus one generated token does not fit.</exception>
    public static void Validate(GenerationRequest request, int vocabRows, int contextLength)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.PromptTokens, nameof(request.PromptTokens));
        var prompt = request.PromptTokens;
        if (prompt.Count == 0)
        {
            throw new ArgumentException("The prompt has no tokens; generation needs at least one.", nameof(request));
        }
        for (var i = 0; i < prompt.Count; i++)
        {
            if ((uint)prompt[i] >= (uint)vocabRows)
            {
                throw new ArgumentOutOfRangeException(nameof(request), prompt[i], $"Prompt token {i} is id {prompt[i]}, outside the model's vocabulary 0…{vocabRows - 1}.");
            }
        }
        if (prompt.Count + 1 > contextLength)
        {
            throw new ContextLengthExceededException(prompt.Count, contextLength);
        }
        if (request.MaxNewTokens is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.MaxNewTokens, "MaxNewTokens must be at least 1 (or null for the package default).");
        }
        if (request.TopLogprobs is < 0 or > MaxTopLogprobs)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.TopLogprobs, $"TopLogprobs must be within 0…{MaxTopLogprobs}.");
        }
        var s = request.Sampling ?? throw new ArgumentNullException(nameof(request), "Sampling options are null.");
        if (double.IsNaN(s.Temperature) || s.Temperature < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(request), s.Temperature, "Temperature must be ≥ 0 (0 is greedy).");
        }
        if (double.IsNaN(s.TopP) || s.TopP is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(request), s.TopP, "TopP must be within 0…1.");
        }
        if (s.TopK < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(request), s.TopK, "TopK must be ≥ 0 (0 disables it).");
        }
        if (double.IsNaN(s.RepetitionPenalty) || s.RepetitionPenalty <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(request), s.RepetitionPenalty, "RepetitionPenalty must be > 0 (1 disables it).");
        }
    }
}
