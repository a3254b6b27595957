namespace Qwen.Inference.Generation;

/// <summary>The engine's admission queue is full; retry after <see cref="RetryAfter"/>.</summary>
public sealed class EngineBusyException(int queued, int capacity, TimeSpan retryAfter)
    : InvalidOperationException($"The engine is busy: {queued} requests are queued and the queue holds {capacity}. Retry after {retryAfter.TotalSeconds:0} s.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
