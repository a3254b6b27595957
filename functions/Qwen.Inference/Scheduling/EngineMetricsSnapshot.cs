namespace Qwen.Inference.Scheduling;

/// <summary>One reading of <see cref="EngineMetrics"/>.</summary>
public sealed record EngineMetricsSnapshot(
    long Requests,
    long RejectedRequests,
    long CancelledRequests,
    long PromptTokens,
    long CachedPromptTokens,
    long GeneratedTokens,
    int QueueDepth,
    int RunningRequests,
    long TimeToFirstTokenCount,
    TimeSpan TimeToFirstTokenSum,
    long DecodeTokens,
    TimeSpan DecodeTime,
    long PrefillTokens,
    TimeSpan PrefillTime)
{
    /// <summary>Prefill model runs; the choices of one multi-choice request count one.</summary>
    public long PrefillRuns { get; init; }

    /// <summary>Decode model runs (each decodes every running row once); <see cref="DecodeTokens"/> / this is the mean batch.</summary>
    public long DecodeSteps { get; init; }

    /// <summary>Rows that got a prompt's KV by copy from the row that prefilled it (choices 2…n of a multi-choice request).</summary>
    public long ForkedRows { get; init; }

    /// <summary>Prompt positions copied into forked rows.</summary>
    public long ForkedPromptTokens { get; init; }

    /// <summary>Mean time to first token, or zero before the first one.</summary>
    public TimeSpan MeanTimeToFirstToken => TimeToFirstTokenCount == 0 ? TimeSpan.Zero : TimeToFirstTokenSum / TimeToFirstTokenCount;

    /// <summary>Tokens per second over all decode runs (aggregate across rows).</summary>
    public double DecodeTokensPerSecond => DecodeTime <= TimeSpan.Zero ? 0 : DecodeTokens / DecodeTime.TotalSeconds;

    /// <summary>Prompt tokens per second over all prefill runs.</summary>
    public double PrefillTokensPerSecond => PrefillTime <= TimeSpan.Zero ? 0 : PrefillTokens / PrefillTime.TotalSeconds;
}
