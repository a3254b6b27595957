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
    /// <summary>Mean time to first token, or zero before the first one.</summary>
    public TimeSpan MeanTimeToFirstToken => TimeToFirstTokenCount == 0 ? TimeSpan.Zero : TimeToFirstTokenSum / TimeToFirstTokenCount;

    /// <summary>Tokens per second over all decode runs (aggregate across rows).</summary>
    public double DecodeTokensPerSecond => DecodeTime <= TimeSpan.Zero ? 0 : DecodeTokens / DecodeTime.TotalSeconds;

    /// <summary>Prompt tokens per second over all prefill runs.</summary>
    public double PrefillTokensPerSecond => PrefillTime <= TimeSpan.Zero ? 0 : PrefillTokens / PrefillTime.TotalSeconds;
}
