using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Qwen.Serving.Batch;

/// <summary>Records a batch message that exhausted its retries (the host moved it to <c>&lt;queue&gt;-poison</c>), so the failure is visible in the batch's summary.</summary>
public sealed partial class BatchPoisonProcessor(BatchProcessor processor, BlobContainerClient container, TimeProvider? timeProvider = null, ILogger<BatchPoisonProcessor>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<BatchPoisonProcessor>.Instance;
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <summary>Writes a <c>failed</c> summary for the batch (unless it completed after all); an unreadable message is kept under <c>poison/&lt;sha256&gt;.json</c>.</summary>
    /// <returns>The blob name written, or null when the batch had completed.</returns>
    public async Task<string?> RecordAsync(string message, long dequeueCount, CancellationToken cancellationToken = default)
    {
        BatchMessage parsed;
        try
        {
            parsed = BatchProcessor.ParseMessage(message);
        }
        catch (FormatException ex)
        {
            var name = $"poison/{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(message)))}.json";
            var record = new JsonObject
            {
                ["message"] = message,
                ["dequeue_count"] = dequeueCount,
                ["error"] = ex.Message,
                ["recorded_at"] = _time.GetUtcNow(),
            };
            await container.GetBlobClient(name).UploadAsync(BinaryData.FromString(record.ToJsonString()), overwrite: true, cancellationToken).ConfigureAwait(false);
            LogUnreadable(_logger, name, ex.Message);
            return name;
        }

        var existing = await processor.ReadSummaryAsync(parsed.BatchId, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return null; // a later delivery finished it; nothing to record
        }
        var summary = await processor.WriteSummaryAsync(new BatchSummary
        {
            BatchId = parsed.BatchId,
            InputBlob = parsed.InputBlob,
            Status = "failed",
            Error = $"The batch message failed {dequeueCount} times and was moved to the poison queue; see the worker logs for the cause, then queue the batch again.",
            CompletedAt = _time.GetUtcNow(),
        }, cancellationToken).ConfigureAwait(false);
        LogPoisoned(_logger, parsed.BatchId, dequeueCount);
        return $"{summary.BatchId}/{BatchProcessor.SummaryFile}";
    }

    [LoggerMessage(210, LogLevel.Error, "Batch {BatchId} went to the poison queue after {DequeueCount} attempts; recorded as failed")]
    private static partial void LogPoisoned(ILogger logger, string batchId, long dequeueCount);

    [LoggerMessage(211, LogLevel.Error, "An unreadable batch message went to the poison queue; kept as {Blob}: {Error}")]
    private static partial void LogUnreadable(ILogger logger, string blob, string error);
}
