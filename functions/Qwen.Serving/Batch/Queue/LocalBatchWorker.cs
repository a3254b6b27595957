using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Qwen.Serving.Batch.Queue;

/// <summary>The standalone server's queue trigger: reads <see cref="InProcessBatchQueue"/> and runs each chunk, with redelivery and a poison limit like the Functions host.</summary>
/// <remarks>
/// At start it rebuilds the queue from the data directory: every batch that has not ended gets a message for each
/// chunk without a result (or one message to finish it), so a batch interrupted by a crash or a restart resumes, and
/// only its unfinished requests run again. Chunks run one at a time; the requests of a chunk run concurrently.
/// </remarks>
public sealed partial class LocalBatchWorker(
    InProcessBatchQueue queue,
    BatchProcessor processor,
    BatchPoisonProcessor poison,
    BatchOptions options,
    ILogger<LocalBatchWorker>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = logger ?? NullLogger<LocalBatchWorker>.Instance;

    /// <summary>Queues the unfinished work found in storage; returns the number of messages queued.</summary>
    public async Task<int> ResumeAsync(CancellationToken cancellationToken)
    {
        var queued = 0;
        await foreach (var batch in processor.Store.ListBatchesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (BatchStatus.IsTerminal(batch.Status))
            {
                continue;
            }
            var pending = BatchStatus.IsRunning(batch.Status)
                ? Enumerable.Range(0, batch.Chunks.Count).Where(k => !batch.ChunkResults.ContainsKey(k)).ToList()
                : new List<int>();
            if (pending.Count == 0)
            {
                pending.Add(0); // finalizing or cancelling: one message finishes it
            }
            foreach (var chunk in pending)
            {
                await queue.SendAsync(new BatchChunkMessage(batch.Id, chunk), cancellationToken).ConfigureAwait(false);
                queued++;
            }
            LogResumed(_logger, batch.Id, batch.Status, pending.Count);
        }
        return queued;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            await ResumeAsync(stoppingToken).ConfigureAwait(false);
            await foreach (var item in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await DeliverAsync(item, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: whatever was not finished is found again in the data directory at the next start.
        }
    }

    private async Task DeliverAsync(InProcessBatchQueue.QueuedChunk item, CancellationToken stoppingToken)
    {
        var delivery = item with { DequeueCount = item.DequeueCount + 1 };
        try
        {
            await processor.ProcessAsync(delivery.Message, delivery.DequeueCount, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            await processor.RecordFailedAttemptAsync(delivery.Message, delivery.DequeueCount, ex, stoppingToken).ConfigureAwait(false);
            if (delivery.DequeueCount >= options.MaxDequeueCount)
            {
                await poison.RecordAsync(delivery.Message.ToJson(), delivery.DequeueCount, stoppingToken).ConfigureAwait(false);
                return;
            }
            // Redeliver later without holding up the other chunks.
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(options.RetryDelay, stoppingToken).ConfigureAwait(false);
                    await queue.RequeueAsync(delivery, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // stopping; resumed at the next start
                }
            }, CancellationToken.None);
        }
    }

    [LoggerMessage(220, LogLevel.Information, "Resuming batch {BatchId} ({Status}): {Messages} chunk message(s) queued")]
    private static partial void LogResumed(ILogger logger, string batchId, string status, int messages);
}
