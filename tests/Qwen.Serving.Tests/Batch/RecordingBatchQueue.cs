using System.Collections.Concurrent;
using Qwen.Serving.Batch;
using Qwen.Serving.Batch.Queue;

namespace Qwen.Serving.Tests.Batch;

/// <summary>An <see cref="IBatchQueue"/> that keeps messages for the test to deliver.</summary>
public sealed class RecordingBatchQueue : IBatchQueue
{
    public ConcurrentQueue<BatchChunkMessage> Messages { get; } = new();

    public Task SendAsync(BatchChunkMessage message, CancellationToken cancellationToken = default)
    {
        Messages.Enqueue(message);
        return Task.CompletedTask;
    }
}
