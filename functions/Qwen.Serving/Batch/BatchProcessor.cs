using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Qwen.Inference.Generation;
using Qwen.Serving.Batch.Queue;

namespace Qwen.Serving.Batch;

/// <summary>Runs one chunk of a batch per queue message, persisting every finished request before the message is acknowledged, and finalizes the batch after its last chunk.</summary>
/// <remarks>
/// <para>Exactly once per <c>custom_id</c>: each finished request is written create-only (If-None-Match) under its index,
/// so a redelivered message (timeout, crash, restart) runs only the requests without a result, and two workers racing on
/// one chunk cannot both write a line. The chunk's lines are then written once as one object and the chunk is marked done
/// in the batch record by a conditional replace (If-Match). Output and error files have ids fixed by the batch id and are
/// written create-only, so racing finalizers produce one output.</para>
/// <para>A request that fails (4xx from the endpoint, or an engine error) becomes a line of the error file. Only storage
/// trouble or a shutdown throws: the queue then redelivers the message. Thread-safe.</para>
/// </remarks>
public sealed partial class BatchProcessor
{
    private readonly BatchStore _store;
    private readonly IBatchRequestHandler _handler;
    private readonly IBatchQueue _queue;
    private readonly BatchOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates a processor.</summary>
    public BatchProcessor(BatchStore store, IBatchRequestHandler handler, IBatchQueue queue, BatchOptions options, TimeProvider? timeProvider = null, ILogger<BatchProcessor>? logger = null)
    {
        _store = store;
        _handler = handler;
        _queue = queue;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<BatchProcessor>.Instance;
    }

    /// <summary>The store the processor works on.</summary>
    public BatchStore Store => _store;

    /// <summary>Processes one delivery of a chunk message.</summary>
    /// <param name="message">The chunk.</param>
    /// <param name="dequeueCount">The queue's delivery count of this message (1 on first delivery).</param>
    /// <param name="cancellationToken">Host shutdown or function timeout; unfinished requests are left for the redelivery.</param>
    /// <exception cref="OperationCanceledException">The host is stopping; the message must be delivered again.</exception>
    public async Task<BatchChunkOutcome> ProcessAsync(BatchChunkMessage message, long dequeueCount = 1, CancellationToken cancellationToken = default)
    {
        var id = message.BatchId;
        var record = await _store.GetBatchAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            LogUnknownBatch(_logger, id);
            return new BatchChunkOutcome(null, 0);
        }
        if (dequeueCount > 1 && !BatchStatus.IsTerminal(record.Status))
        {
            // Remember the real delivery count now: if this attempt dies with the process, the poison record still knows it.
            record = await _store.UpdateBatchAsync(id, r => r with
            {
                LastAttempt = new BatchAttempt(message.Chunk, dequeueCount, r.LastAttempt?.Chunk == message.Chunk ? r.LastAttempt.Error : null),
            }, cancellationToken).ConfigureAwait(false) ?? record;
        }
        if (BatchStatus.IsTerminal(record.Status))
        {
            return new BatchChunkOutcome(record.Status, 0);
        }
        if (!BatchStatus.IsRunning(record.Status) || message.Chunk >= record.Chunks.Count || record.ChunkResults.ContainsKey(message.Chunk))
        {
            // Finalizing, cancelling, or this chunk is done: all that can be left is finishing the batch.
            return new BatchChunkOutcome(await FinalizeAsync(id, cancellationToken).ConfigureAwait(false), 0);
        }
        if (record.Status == BatchStatus.Validating)
        {
            var now = _store.Now;
            record = await _store.UpdateBatchAsync(id, r => r.Status == BatchStatus.Validating
                ? r with { Status = BatchStatus.InProgress, InProgressAt = now }
                : null, cancellationToken).ConfigureAwait(false) ?? record;
        }

        var chunk = record.Chunks[message.Chunk];
        var bytes = await ReadChunkInputAsync(record, chunk, cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return new BatchChunkOutcome(BatchStatus.Failed, 0);
        }
        var done = await _store.ReadLinesAsync(id, message.Chunk, cancellationToken).ConfigureAwait(false);
        var todo = BatchInputPlanner.SplitChunk(bytes, chunk).Where(l => !done.ContainsKey(l.Index)).ToList();

        var run = 0;
        var outOfTime = false;
        var started = _time.GetTimestamp();
        using var stopped = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var watcherStop = new CancellationTokenSource();
        var watcher = WatchForStopAsync(id, stopped, watcherStop.Token);
        try
        {
            await Parallel.ForEachAsync(todo,
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxConcurrency), CancellationToken = stopped.Token },
                async (line, ct) =>
                {
                    if (_time.GetElapsedTime(started) > _options.ChunkTimeBudget)
                    {
                        outOfTime = true; // left for the continuation message
                        return;
                    }
                    Interlocked.Increment(ref run);
                    var result = await RunLineAsync(id, record.Owner, line.Index, line.LineNumber, line.Text, ct).ConfigureAwait(false);
                    // Persist before anything else, and even while stopping: a finished answer is never generated twice.
                    await _store.TryWriteLineAsync(id, message.Chunk, line.Index, result, CancellationToken.None).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && stopped.IsCancellationRequested)
        {
            // The batch stopped running (cancelled or failed) while this chunk ran: finish it with what is there.
            LogStopped(_logger, id, message.Chunk, run);
            return new BatchChunkOutcome(await FinalizeAsync(id, cancellationToken).ConfigureAwait(false), run);
        }
        finally
        {
            await watcherStop.CancelAsync().ConfigureAwait(false);
            await watcher.ConfigureAwait(false);
        }
        if (outOfTime)
        {
            await _queue.SendAsync(message, cancellationToken).ConfigureAwait(false);
            LogRequeued(_logger, id, message.Chunk, run);
            return new BatchChunkOutcome(BatchStatus.InProgress, run, Requeued: true);
        }

        var lines = await _store.ReadLinesAsync(id, message.Chunk, cancellationToken).ConfigureAwait(false);
        if (lines.Count < chunk.Count)
        {
            throw new InvalidOperationException($"Chunk {message.Chunk} of {id} has {lines.Count} of {chunk.Count} results after running; the redelivery will run the rest.");
        }
        var stored = await _store.WriteChunkOnceAsync(id, message.Chunk, Jsonl(lines.Values), cancellationToken).ConfigureAwait(false);
        var counts = Count(stored);
        record = await _store.UpdateBatchAsync(id, r => r.ChunkResults.ContainsKey(message.Chunk)
            ? null
            : r with { ChunkResults = new Dictionary<int, BatchChunkCounts>(r.ChunkResults) { [message.Chunk] = counts } },
            cancellationToken).ConfigureAwait(false) ?? record;
        LogChunkDone(_logger, id, message.Chunk, run, counts.Completed, counts.Failed);
        var status = record.AllChunksDone || !BatchStatus.IsRunning(record.Status)
            ? await FinalizeAsync(id, cancellationToken).ConfigureAwait(false)
            : record.Status;
        return new BatchChunkOutcome(status, run);
    }

    /// <summary>Records a failed attempt (real dequeue count and error) for the poison record; never throws.</summary>
    public async Task RecordFailedAttemptAsync(BatchChunkMessage message, long dequeueCount, Exception exception, CancellationToken cancellationToken = default)
    {
        try
        {
            await _store.UpdateBatchAsync(message.BatchId, r => BatchStatus.IsTerminal(r.Status)
                ? null
                : r with { LastAttempt = new BatchAttempt(message.Chunk, dequeueCount, exception.Message) }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogAttemptNotRecorded(_logger, message.BatchId, ex.Message);
        }
        LogAttemptFailed(_logger, message.BatchId, message.Chunk, dequeueCount, exception.Message);
    }

    /// <summary>Marks the batch failed with <paramref name="error"/> unless it has ended already.</summary>
    public async Task<BatchRecord?> FailAsync(string batchId, BatchError error, CancellationToken cancellationToken = default)
    {
        var now = _store.Now;
        var record = await _store.UpdateBatchAsync(batchId, r => BatchStatus.IsTerminal(r.Status)
            ? null
            : r with { Status = BatchStatus.Failed, FailedAt = now, Errors = [error] }, cancellationToken).ConfigureAwait(false);
        LogFailed(_logger, batchId, error.Message);
        return record;
    }

    /// <summary>Ends a batch whose chunks are all done (→ completed) or that is cancelling (→ cancelled): writes the output and error files once and the final counts.</summary>
    /// <returns>The batch's status afterwards.</returns>
    public async Task<string?> FinalizeAsync(string batchId, CancellationToken cancellationToken = default)
    {
        var now = _store.Now;
        var record = await _store.UpdateBatchAsync(batchId, r => BatchStatus.IsRunning(r.Status) && r.AllChunksDone
            ? r with { Status = BatchStatus.Finalizing, FinalizingAt = now }
            : null, cancellationToken).ConfigureAwait(false);
        if (record is null || record.Status is not (BatchStatus.Finalizing or BatchStatus.Cancelling))
        {
            return record?.Status;
        }

        var output = new StringBuilder();
        var errors = new StringBuilder();
        for (var k = 0; k < record.Chunks.Count; k++)
        {
            // A finished chunk has its lines in one object; a chunk cut short by a cancel has only single lines.
            var text = await _store.ReadChunkAsync(batchId, k, cancellationToken).ConfigureAwait(false)
                ?? Jsonl((await _store.ReadLinesAsync(batchId, k, cancellationToken).ConfigureAwait(false)).Values);
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                (IsSuccess(line) ? output : errors).Append(line).Append('\n');
            }
        }
        var outputFile = output.Length == 0 ? null : await _store.CreateFileOnceAsync(
            BatchIds.OutputFileId(batchId), $"{batchId}_output.jsonl", "batch_output", BinaryData.FromString(output.ToString()), cancellationToken, record.Owner).ConfigureAwait(false);
        var errorFile = errors.Length == 0 ? null : await _store.CreateFileOnceAsync(
            BatchIds.ErrorFileId(batchId), $"{batchId}_error.jsonl", "batch_output", BinaryData.FromString(errors.ToString()), cancellationToken, record.Owner).ConfigureAwait(false);
        // Count what was stored: after a cancel, a racing finalizer may have written a file with one line more or less.
        var counts = new BatchChunkCounts(
            await CountStoredLinesAsync(outputFile, output, cancellationToken).ConfigureAwait(false),
            await CountStoredLinesAsync(errorFile, errors, cancellationToken).ConfigureAwait(false));
        now = _store.Now;
        record = await _store.UpdateBatchAsync(batchId, r => r.Status switch
        {
            BatchStatus.Finalizing => r with { Status = BatchStatus.Completed, CompletedAt = now, OutputFileId = outputFile?.Id, ErrorFileId = errorFile?.Id, FinalCounts = counts },
            BatchStatus.Cancelling => r with { Status = BatchStatus.Cancelled, CancelledAt = now, OutputFileId = outputFile?.Id, ErrorFileId = errorFile?.Id, FinalCounts = counts },
            _ => null,
        }, cancellationToken).ConfigureAwait(false);
        LogFinalized(_logger, batchId, record?.Status ?? "", counts.Completed, counts.Failed);
        return record?.Status;
    }

    private async Task<int> CountStoredLinesAsync(FileRecord? file, StringBuilder ours, CancellationToken cancellationToken)
    {
        if (file is null)
        {
            return 0;
        }
        if (file.Bytes == Encoding.UTF8.GetByteCount(ours.ToString()))
        {
            return CountLines(ours.ToString());
        }
        var stored = await _store.Storage.ReadAsync(BatchStore.FileDataName(file.Id), cancellationToken).ConfigureAwait(false);
        return stored is null ? 0 : CountLines(stored.Content.ToString());
    }

    private async Task<byte[]?> ReadChunkInputAsync(BatchRecord record, BatchChunk chunk, CancellationToken cancellationToken)
    {
        var name = BatchStore.FileDataName(record.InputFileId);
        // The size comes from the stored properties, before any byte is downloaded.
        var properties = await _store.Storage.GetPropertiesAsync(name, cancellationToken).ConfigureAwait(false);
        BatchError? problem = properties switch
        {
            null => new BatchError("input_file_deleted", $"The input file {record.InputFileId} was deleted while the batch ran."),
            { Size: var size } when size > _options.MaxInputBytes => new BatchError("file_too_large",
                $"The input file {record.InputFileId} has {size:N0} bytes; batches read at most {_options.MaxInputBytes:N0}."),
            { Size: var size } when size != record.InputBytes => new BatchError("input_file_changed",
                $"The input file {record.InputFileId} has {size:N0} bytes, not the {record.InputBytes:N0} it had when the batch was created."),
            _ => null,
        };
        if (problem is not null)
        {
            await FailAsync(record.Id, problem, cancellationToken).ConfigureAwait(false);
            return null;
        }
        await using var stream = await _store.Storage.OpenReadAsync(name, chunk.Offset, chunk.Length, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            await FailAsync(record.Id, new BatchError("input_file_deleted", $"The input file {record.InputFileId} was deleted while the batch ran."), cancellationToken).ConfigureAwait(false);
            return null;
        }
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private async Task WatchForStopAsync(string batchId, CancellationTokenSource stop, CancellationToken watcherStop)
    {
        try
        {
            while (!watcherStop.IsCancellationRequested)
            {
                await Task.Delay(_options.CancelPollInterval, _time, watcherStop).ConfigureAwait(false);
                var record = await _store.GetBatchAsync(batchId, watcherStop).ConfigureAwait(false);
                if (record is null || !BatchStatus.IsRunning(record.Status))
                {
                    await stop.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (watcherStop.IsCancellationRequested)
        {
            // the chunk ended
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogWatchFailed(_logger, batchId, ex.Message); // a storage hiccup only delays noticing a cancel
        }
    }

    private async Task<JsonObject> RunLineAsync(string batchId, string? owner, int index, int number, string text, CancellationToken cancellationToken)
    {
        var id = BatchIds.RequestId(batchId, index);
        JsonObject? line;
        try
        {
            line = JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException ex)
        {
            return Line(id, null, null, new JsonObject { ["code"] = "invalid_json_line", ["message"] = $"Line {number} is not valid JSON: {ex.Message}" });
        }
        var customId = line?["custom_id"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        var url = line?["url"] is JsonValue u && u.GetValueKind() == JsonValueKind.String ? u.GetValue<string>() : "";
        if (line?["body"] is not JsonObject body)
        {
            return Line(id, customId, null, new JsonObject { ["code"] = "invalid_body", ["message"] = $"Line {number} has no JSON object \"body\"." });
        }

        BatchItemResponse response;
        try
        {
            response = await HandleWithBusyRetryAsync(url, body, id, owner, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // stopping: this request is left for the redelivery (or dropped by a cancel)
        }
        catch (Exception ex)
        {
            LogLineFailed(_logger, batchId, customId ?? "", ex.Message);
            var failure = BatchItemResponse.Error(500, "server_error", ex.Message);
            return Line(id, customId, failure, new JsonObject { ["code"] = "server_error", ["message"] = ex.Message });
        }
        if (response.IsSuccess)
        {
            return Line(id, customId, response, null);
        }
        var error = response.Body["error"];
        return Line(id, customId, response, new JsonObject
        {
            ["code"] = error?["code"]?.GetValue<string>() ?? $"http_{response.StatusCode}",
            ["message"] = error?["message"]?.GetValue<string>() ?? $"The request failed with status {response.StatusCode}.",
        });
    }

    private async Task<BatchItemResponse> HandleWithBusyRetryAsync(string url, JsonObject body, string id, string? owner, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var response = await _handler.HandleAsync(url, body, id, owner, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode != 429 || attempt >= _options.MaxBusyRetries)
                {
                    return response;
                }
                // The handler mapped EngineBusyException to 429: wait like a client would, then retry.
                await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (EngineBusyException ex) when (attempt < _options.MaxBusyRetries)
            {
                await Task.Delay(ex.RetryAfter > TimeSpan.Zero ? ex.RetryAfter : TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static JsonObject Line(string id, string? customId, BatchItemResponse? response, JsonObject? error) => new()
    {
        ["id"] = id,
        ["custom_id"] = customId,
        ["response"] = response is null ? null : new JsonObject
        {
            ["status_code"] = response.StatusCode,
            ["request_id"] = id,
            ["body"] = response.Body.DeepClone(),
        },
        ["error"] = error,
    };

    private static string Jsonl(IEnumerable<JsonObject> lines)
    {
        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(line.ToJsonString(BatchStore.Json)).Append('\n');
        }
        return text.ToString();
    }

    private static BatchChunkCounts Count(string jsonl)
    {
        var completed = 0;
        var failed = 0;
        foreach (var line in jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (IsSuccess(line))
            {
                completed++;
            }
            else
            {
                failed++;
            }
        }
        return new BatchChunkCounts(completed, failed);
    }

    private static bool IsSuccess(string line) => JsonNode.Parse(line)?["error"] is null;

    private static int CountLines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    [LoggerMessage(200, LogLevel.Warning, "Batch {BatchId} does not exist; its queue message is dropped")]
    private static partial void LogUnknownBatch(ILogger logger, string batchId);

    [LoggerMessage(201, LogLevel.Information, "Batch {BatchId} chunk {Chunk} done: {Run} requests run now, {Completed} completed, {Failed} failed")]
    private static partial void LogChunkDone(ILogger logger, string batchId, int chunk, int run, int completed, int failed);

    [LoggerMessage(202, LogLevel.Warning, "Batch {BatchId} request {CustomId} failed: {Error}")]
    private static partial void LogLineFailed(ILogger logger, string batchId, string customId, string error);

    [LoggerMessage(203, LogLevel.Information, "Batch {BatchId} chunk {Chunk} stopped after {Run} requests: the batch is no longer running")]
    private static partial void LogStopped(ILogger logger, string batchId, int chunk, int run);

    [LoggerMessage(204, LogLevel.Information, "Batch {BatchId} chunk {Chunk} used its time budget after {Run} requests; the rest is queued again")]
    private static partial void LogRequeued(ILogger logger, string batchId, int chunk, int run);

    [LoggerMessage(205, LogLevel.Information, "Batch {BatchId} ended {Status}: {Completed} completed, {Failed} failed")]
    private static partial void LogFinalized(ILogger logger, string batchId, string status, int completed, int failed);

    [LoggerMessage(206, LogLevel.Error, "Batch {BatchId} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string batchId, string error);

    [LoggerMessage(207, LogLevel.Warning, "Batch {BatchId} chunk {Chunk} attempt {DequeueCount} failed: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, string batchId, int chunk, long dequeueCount, string error);

    [LoggerMessage(208, LogLevel.Warning, "Could not record the failed attempt of batch {BatchId}: {Error}")]
    private static partial void LogAttemptNotRecorded(ILogger logger, string batchId, string error);

    [LoggerMessage(209, LogLevel.Warning, "Checking batch {BatchId} for a cancel failed: {Error}")]
    private static partial void LogWatchFailed(ILogger logger, string batchId, string error);
}
