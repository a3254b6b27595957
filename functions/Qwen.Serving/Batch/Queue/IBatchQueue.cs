namespace Qwen.Serving.Batch.Queue;

/// <summary>Where batch work goes: one <see cref="BatchChunkMessage"/> per chunk of a batch.</summary>
/// <remarks>Delivery is at least once; <see cref="BatchProcessor"/> makes a repeated delivery harmless. Thread-safe.</remarks>
public interface IBatchQueue
{
    /// <summary>Queues work on one chunk.</summary>
    Task SendAsync(BatchChunkMessage message, CancellationToken cancellationToken = default);
}
