namespace Qwen.Inference.Scheduling;

/// <summary>The scheduler's view of one request: its tokens, where it sits, and how far its KV has been computed.</summary>
/// <remarks>Not thread-safe: only the engine loop touches it.</remarks>
public sealed class ScheduledSequence
{
    private readonly List<int> _tokens;

    /// <summary>Creates a waiting sequence.</summary>
    /// <param name="id">Unique id.</param>
    /// <param name="promptTokens">Prompt token ids (at least one).</param>
    /// <param name="ntkAlpha">Dynamic-NTK α chosen from the prompt length; cached KV is reusable only under the same α.</param>
    /// <param name="maxNewTokens">Output budget, already capped so prompt + output fits a row.</param>
    public ScheduledSequence(long id, IReadOnlyList<int> promptTokens, double ntkAlpha, int maxNewTokens)
    {
        ArgumentOutOfRangeException.ThrowIfZero(promptTokens.Count, nameof(promptTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        Id = id;
        PromptLength = promptTokens.Count;
        NtkAlpha = ntkAlpha;
        MaxNewTokens = maxNewTokens;
        _tokens = new List<int>(promptTokens.Count + Math.Min(maxNewTokens, 1024));
        _tokens.AddRange(promptTokens);
    }

    public long Id { get; }

    /// <summary>Prefix-cache partition: a row's cached tokens are reused only by a sequence of the same scope.</summary>
    public string? CacheScope { get; init; }
    public int PromptLength { get; }
    public double NtkAlpha { get; }
    public int MaxNewTokens { get; }

    /// <summary>Prompt followed by the tokens sampled so far.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>Tokens sampled so far.</summary>
    public int GeneratedCount => _tokens.Count - PromptLength;

    /// <summary>Tokens whose K/V are in the row (a prefix of <see cref="Tokens"/>).</summary>
    public int ComputedCount { get; internal set; }

    /// <summary>Prompt tokens found already cached in the row at admission.</summary>
    public int CachedPromptTokens { get; internal set; }

    /// <summary>KV row, or −1 while waiting.</summary>
    public int Slot { get; internal set; } = -1;

    public SequenceStatus Status { get; internal set; } = SequenceStatus.Waiting;

    /// <summary>For another choice of the same prompt (OpenAI <c>n</c>): the sequence that prefills the prompt, whose row's KV this one copies; null otherwise.</summary>
    public ScheduledSequence? ForkOf { get; internal set; }

    /// <summary>While waiting: the other choices queued with this one (they are admitted together, into rows of their own, and copy its prompt KV).</summary>
    internal List<ScheduledSequence> Forks { get; } = [];

    /// <summary>Appends a sampled token (the engine calls this after each prefill/decode of this sequence).</summary>
    public void Append(int token) => _tokens.Add(token);
}

/// <summary>Where a sequence is in its life.</summary>
public enum SequenceStatus
{
    /// <summary>In the admission queue.</summary>
    Waiting,
    /// <summary>Has a row; its prompt is prefilled in the current step.</summary>
    Prefilling,
    /// <summary>Decodes one token per step.</summary>
    Running,
    /// <summary>Left its row (finished or cancelled).</summary>
    Released,
}
