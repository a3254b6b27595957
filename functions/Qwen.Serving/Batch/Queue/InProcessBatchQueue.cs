using System.Threading.Channels;

namespace Qwen.Serving.Batch.Queue;

/// <summary><see cref="IBatchQueue"/> inside the standalone server: a channel read by <see cref="LocalBatchWorker"/>.</summary>
/// <remarks>Nothing here survives a restart; the worker rebuilds the queue from the data directory when it starts. Thread-safe.</remarks>
public sealed class InProcessBatchQueue : IBatchQueue
{
    private readonly Channel<QueuedChunk> _channel = Channel.CreateUnbounded<QueuedChunk>(new UnboundedChannelOptions { SingleReader = false });

    /// <summary>What the worker reads.</summary>
    internal ChannelReader<QueuedChunk> Reader => _channel.Reader;

    /// <inheritdoc />
    public Task SendAsync(BatchChunkMessage message, CancellationToken cancellationToken = default)
        => _channel.Writer.WriteAsync(new QueuedChunk(message, 0), cancellationToken).AsTask();

    /// <summary>Puts a message back after a failed attempt, keeping its delivery count.</summary>
    internal ValueTask RequeueAsync(QueuedChunk item, CancellationToken cancellationToken) => _channel.Writer.WriteAsync(item, cancellationToken);

    /// <summary>A message and how often it was delivered so far.</summary>
    internal sealed record QueuedChunk(BatchChunkMessage Message, long DequeueCount);
}
