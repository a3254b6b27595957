using Azure.Storage.Queues;

namespace Qwen.Serving.Batch.Queue;

/// <summary><see cref="IBatchQueue"/> over an Azure Storage queue, read by the worker's queue trigger (<c>BatchGenerate</c>).</summary>
/// <remarks>The client must encode messages as Base64, the Functions queue extension's default (<see cref="CreateClientOptions"/>). Thread-safe.</remarks>
public sealed class StorageBatchQueue(QueueClient queue) : IBatchQueue
{
    /// <summary>Client options matching the Functions queue trigger: Base64 message bodies.</summary>
    public static QueueClientOptions CreateClientOptions() => new() { MessageEncoding = QueueMessageEncoding.Base64 };

    /// <summary>The queue messages go to.</summary>
    public QueueClient Queue => queue;

    /// <inheritdoc />
    public async Task SendAsync(BatchChunkMessage message, CancellationToken cancellationToken = default)
        => await queue.SendMessageAsync(message.ToJson(), cancellationToken).ConfigureAwait(false);
}
