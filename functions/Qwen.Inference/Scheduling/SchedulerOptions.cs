namespace Qwen.Inference.Scheduling;

/// <summary>Limits of the continuous-batching scheduler: batch rows, admission queue, KV length and prefill budget.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Batch rows of the KV buffer, i.e. requests that decode together.</summary>
    public int MaxBatchSize { get; init; } = 8;

    /// <summary>Requests that may wait for a row; one more is refused with <see cref="Generation.EngineBusyException"/>.</summary>
    public int MaxQueueLength { get; init; } = 64;

    /// <summary>Positions per KV row (prompt + output); null means the runtime's context, else the package's capped at <see cref="KvCachePlan.DefaultContextCap"/>.</summary>
    /// <remarks>The KV buffer is [rows, heads, MaxSequenceLength, headDim] per layer, allocated once, so this drives memory.</remarks>
    public int? MaxSequenceLength { get; init; }

    /// <summary>Most bytes the KV buffer may take; rows are dropped (down to one) to fit it before a row gets shorter (<see cref="KvCachePlan"/>).</summary>
    /// <remarks>Null: <see cref="KvCachePlan.DefaultBudgetShare"/> of the memory the process may use (GC/cgroup limit) minus the weights. On a GPU set it to what the card leaves after the weights: the default measures host memory.</remarks>
    public long? KvCacheBudgetBytes { get; init; }

    /// <summary>Prompt tokens prefilled per step beyond the first joining request, so running requests keep decoding while long prompts join.</summary>
    public int MaxPrefillTokensPerStep { get; init; } = 2048;

    /// <summary>Reuse a row's cached tokens when a new prompt extends them (next chat turn).</summary>
    public bool EnablePrefixReuse { get; init; } = true;

    /// <summary>Suggested retry delay carried by <see cref="Generation.EngineBusyException"/>.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws when a limit is out of range, naming the setting.</summary>
    public void Validate()
    {
        if (MaxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "MaxBatchSize must be at least 1.");
        if (MaxQueueLength < 0) throw new ArgumentOutOfRangeException(nameof(MaxQueueLength), MaxQueueLength, "MaxQueueLength must be 0 or more.");
        if (MaxSequenceLength is < 2) throw new ArgumentOutOfRangeException(nameof(MaxSequenceLength), MaxSequenceLength, "MaxSequenceLength must be at least 2 (one prompt token and one generated token).");
        if (KvCacheBudgetBytes is < 1) throw new ArgumentOutOfRangeException(nameof(KvCacheBudgetBytes), KvCacheBudgetBytes, "KvCacheBudgetBytes must be positive.");
        if (MaxPrefillTokensPerStep < 1) throw new ArgumentOutOfRangeException(nameof(MaxPrefillTokensPerStep), MaxPrefillTokensPerStep, "MaxPrefillTokensPerStep must be at least 1.");
    }
}
