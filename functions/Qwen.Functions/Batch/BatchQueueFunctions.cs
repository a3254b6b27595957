using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Qwen.Serving.Batch;

namespace Qwen.Functions.Batch;

/// <summary>Queue triggers for batch generation: thin adapters over <see cref="BatchProcessor"/> and <see cref="BatchPoisonProcessor"/>.</summary>
/// <remarks>
/// Each message is one chunk of a batch. A throw makes the host redeliver the message; every finished request is already
/// persisted, so a redelivery runs only the rest. After host.json's <c>maxDequeueCount</c> (5) the host moves the message
/// to <c>&lt;queue&gt;-poison</c>, whose trigger fails the batch, naming the real delivery count.
/// </remarks>
public sealed class BatchQueueFunctions(BatchProcessor processor, BatchPoisonProcessor poison)
{
    /// <summary>Mirrors <c>extensions.queues.maxDequeueCount</c> in host.json.</summary>
    public const int MaxDequeueCount = 5;

    /// <summary>Runs the chunk named by the message.</summary>
    [Function("BatchGenerate")]
    public async Task<BatchChunkOutcome?> Generate(
        [QueueTrigger("%" + Serving.Configuration.AppSettingNames.BatchQueueName + "%", Connection = "QwenStorage")] QueueMessage message,
        CancellationToken cancellationToken)
    {
        BatchChunkMessage chunk;
        try
        {
            chunk = BatchChunkMessage.Parse(message.MessageText);
        }
        catch (FormatException ex)
        {
            // Retrying cannot make the text readable: keep it with its delivery count and acknowledge it.
            await poison.RecordUnreadableAsync(message.MessageText, message.DequeueCount, ex.Message, cancellationToken).ConfigureAwait(false);
            return null;
        }
        try
        {
            return await processor.ProcessAsync(chunk, message.DequeueCount, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await processor.RecordFailedAttemptAsync(chunk, message.DequeueCount, ex, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Fails the batch whose chunk message used up its deliveries.</summary>
    [Function("BatchPoison")]
    public Task<string?> Poison(
        [QueueTrigger("%" + Serving.Configuration.AppSettingNames.BatchQueueName + "%-poison", Connection = "QwenStorage")] QueueMessage message,
        CancellationToken cancellationToken)
        => poison.RecordAsync(message.MessageText, message.DequeueCount, cancellationToken);
}
