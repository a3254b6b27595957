using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Qwen.Serving.Batch;

/// <summary>Records a chunk message that used up its deliveries, so the failure shows in the batch (status <c>failed</c>, <c>errors</c>).</summary>
/// <remarks>
/// The dequeue count written is the real one: every redelivery stores its count in the batch record before it starts
/// (<see cref="BatchProcessor.ProcessAsync"/>), so it survives even an attempt that took the process down; the count
/// passed in (the poison queue's own) is the fallback. Thread-safe.
/// </remarks>
public sealed partial class BatchPoisonProcessor(BatchProcessor processor, TimeProvider? timeProvider = null, ILogger<BatchPoisonProcessor>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<BatchPoisonProcessor>.Instance;
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <summary>Fails the batch the message names (unless it ended already); an unreadable message is kept as <c>poison/&lt;sha256&gt;.json</c>.</summary>
    /// <param name="message">The message text.</param>
    /// <param name="dequeueCount">The delivery count known to the caller.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The object name written, or null when there was nothing to record.</returns>
    public async Task<string?> RecordAsync(string message, long dequeueCount, CancellationToken cancellationToken = default)
    {
        BatchChunkMessage parsed;
        try
        {
            parsed = BatchChunkMessage.Parse(message);
        }
        catch (FormatException ex)
        {
            return await RecordUnreadableAsync(message, dequeueCount, ex.Message, cancellationToken).ConfigureAwait(false);
        }

        var record = await processor.Store.GetBatchAsync(parsed.BatchId, cancellationToken).ConfigureAwait(false);
        if (record is null || BatchStatus.IsTerminal(record.Status))
        {
            return null;
        }
        var attempt = record.LastAttempt?.Chunk == parsed.Chunk ? record.LastAttempt : null;
        var count = Math.Max(dequeueCount, attempt?.DequeueCount ?? 0);
        var cause = attempt?.Error is { } error ? $" The last error was: {error}" : " See the worker logs for the cause.";
        await processor.FailAsync(parsed.BatchId, new BatchError("poisoned_message",
            $"Chunk {parsed.Chunk} failed {count} times and its message was moved to the poison queue.{cause}"), cancellationToken).ConfigureAwait(false);
        LogPoisoned(_logger, parsed.BatchId, parsed.Chunk, count);
        return BatchStore.BatchName(parsed.BatchId);
    }

    /// <summary>Keeps an unreadable message as <c>poison/&lt;sha256&gt;.json</c> with its dequeue count and the parse error.</summary>
    public async Task<string> RecordUnreadableAsync(string message, long dequeueCount, string error, CancellationToken cancellationToken = default)
    {
        var name = $"poison/{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(message)))}.json";
        var record = new JsonObject
        {
            ["message"] = message,
            ["dequeue_count"] = dequeueCount,
            ["error"] = error,
            ["recorded_at"] = _time.GetUtcNow(),
        };
        await processor.Store.Storage.TryCreateAsync(name, BinaryData.FromString(record.ToJsonString()).ToStream(), cancellationToken).ConfigureAwait(false);
        LogUnreadable(_logger, name, error);
        return name;
    }

    [LoggerMessage(210, LogLevel.Error, "Batch {BatchId} chunk {Chunk} went to the poison queue after {DequeueCount} deliveries; the batch is failed")]
    private static partial void LogPoisoned(ILogger logger, string batchId, int chunk, long dequeueCount);

    [LoggerMessage(211, LogLevel.Error, "An unreadable batch message was kept as {Name}: {Error}")]
    private static partial void LogUnreadable(ILogger logger, string name, string error);
}
