using Qwen.Inference.Constraints;
using Qwen.Inference.Generation;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Sampling;

/// <summary>
/// Picks the next token of one request from one row of logits, running <see cref="LogitStages"/> in the order of
/// spec §5.5, and keeps the per-request state the penalties need (ids seen, generated counts) and the request's own
/// random generator.
/// </summary>
/// <remarks>
/// One instance per request; not thread-safe. The same seed and the same sequence of logits give the same tokens,
/// because each request owns its <see cref="Random"/> (never a shared one).
/// Log-probabilities are the log-softmax of the processed logits: after penalties, bias, the vocabulary mask and a grammar mask, and
/// when sampling also after temperature, top-k and top-p, i.e. the distribution the token was drawn from.
/// </remarks>
public sealed class Sampler
{
    private readonly SamplingOptions _options;
    private readonly int _vocabularySize;
    private readonly bool _logprobs;
    private readonly int _topLogprobs;
    private readonly Random _random;
    private readonly HashSet<int> _seen;
    private readonly Dictionary<int, int> _generatedCounts = [];
    private float[] _scratch = [];

    /// <summary>Creates the sampler of one request.</summary>
    /// <param name="options">Sampling settings.</param>
    /// <param name="promptTokens">The prompt, for the repetition penalty (which counts prompt and output).</param>
    /// <param name="vocabularySize">Ids at or above this are masked (the tokenizer's 151,851 for Qwen-7B).</param>
    /// <param name="logprobs">Compute the chosen token's log-probability (otherwise NaN).</param>
    /// <param name="topLogprobs">Number of alternatives to report per step (0–20); implies <paramref name="logprobs"/>.</param>
    public Sampler(SamplingOptions options, IEnumerable<int> promptTokens, int vocabularySize = QwenTokenizer.VocabCount, bool logprobs = false, int topLogprobs = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabularySize);
        ArgumentOutOfRangeException.ThrowIfNegative(topLogprobs);
        _options = options;
        _vocabularySize = vocabularySize;
        _topLogprobs = topLogprobs;
        _logprobs = logprobs || topLogprobs > 0;
        _random = options.Seed is { } seed ? new Random(unchecked((int)(seed ^ (seed >>> 32)))) : new Random();
        _seen = options.RepetitionPenalty != 1.0 ? [.. promptTokens] : [];
    }

    /// <summary>The settings this sampler applies.</summary>
    public SamplingOptions Options => _options;

    /// <summary>Processes <paramref name="logits"/> in place, picks a token, records it in the penalty state and returns it.</summary>
    /// <param name="logits">One row of raw model logits (length = model vocabulary rows); overwritten.</param>
    public GeneratedToken Sample(Span<float> logits) => Sample(logits, null);

    /// <summary>Like <see cref="Sample(Span{float})"/>, masking the tokens <paramref name="constraint"/> does not allow next (after penalties and bias, before temperature); the cursor is not advanced.</summary>
    /// <param name="logits">One row of raw model logits (length = model vocabulary rows); overwritten.</param>
    /// <param name="constraint">The generation's grammar position, or null for free text.</param>
    public GeneratedToken Sample(Span<float> logits, ConstraintCursor? constraint)
    {
        if (_scratch.Length < logits.Length)
        {
            _scratch = new float[logits.Length];
        }
        var scratch = _scratch.AsSpan(0, logits.Length);

        LogitStages.ApplyRepetitionPenalty(logits, _seen, (float)_options.RepetitionPenalty);
        LogitStages.ApplyPresenceAndFrequencyPenalties(logits, _generatedCounts, (float)_options.PresencePenalty, (float)_options.FrequencyPenalty);
        LogitStages.ApplyLogitBias(logits, _options.LogitBias);
        LogitStages.MaskBeyondVocabulary(logits, _vocabularySize);
        constraint?.ApplyMask(logits);

        int id;
        if (_options.IsGreedy)
        {
            id = LogitStages.ArgMax(logits);
        }
        else
        {
            LogitStages.ApplyTemperature(logits, (float)_options.Temperature);
            LogitStages.ApplyTopK(logits, _options.TopK);
            LogitStages.ApplyTopP(logits, _options.TopP, scratch);
            LogitStages.Softmax(logits, scratch);
            id = LogitStages.Pick(scratch, _random.NextDouble());
        }

        var token = _logprobs ? WithLogprobs(id, logits, scratch) : new GeneratedToken(id, float.NaN, []);
        Accept(id);
        return token;
    }

    /// <summary>Records a token as generated (for the penalties) without sampling it.</summary>
    public void Accept(int tokenId)
    {
        if (_options.RepetitionPenalty != 1.0)
        {
            _seen.Add(tokenId);
        }
        if (_options.PresencePenalty != 0 || _options.FrequencyPenalty != 0)
        {
            _generatedCounts[tokenId] = _generatedCounts.GetValueOrDefault(tokenId) + 1;
        }
    }

    private GeneratedToken WithLogprobs(int id, ReadOnlySpan<float> logits, Span<float> scratch)
    {
        var logSumExp = LogitStages.LogSumExp(logits, scratch);
        var top = LogitStages.TopLogprobs(logits, logSumExp, _topLogprobs);
        var alternatives = new TokenLogprob[top.Count];
        for (var i = 0; i < top.Count; i++)
        {
            alternatives[i] = new TokenLogprob(top[i].Id, top[i].Logprob);
        }
        return new GeneratedToken(id, logits[id] - logSumExp, alternatives);
    }
}
