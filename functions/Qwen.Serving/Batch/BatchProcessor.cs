using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Qwen.Inference.Generation;
using Qwen.Serving.ModelCache;

namespace Qwen.Serving.Batch;

/// <summary>Runs one batch: reads the JSONL input blob, answers every line, writes the OpenAI batch output and error files, then the summary.</summary>
/// <remarks>
/// Idempotent: <c>summary.json</c> is written last and a redelivered message whose summary exists does nothing.
/// Every blob is written whole in one upload, so a reader never sees half a file. A line that fails goes to the error
/// file with its <c>custom_id</c>; only storage trouble (transient, retried) or a malformed queue message throws, so
/// the host redelivers it and, after maxDequeueCount, moves it to the poison queue (<see cref="BatchPoisonProcessor"/>).
/// Thread-safe.
/// </remarks>
public sealed partial class BatchProcessor
{
    /// <summary>Result blob names under the batch folder.</summary>
    public const string OutputFile = "output.jsonl", ErrorFile = "errors.jsonl", SummaryFile = "summary.json";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly Regex BatchIdPattern = CreateBatchIdPattern();

    private readonly BlobContainerClient _container;
    private readonly IBatchRequestHandler _handler;
    private readonly BatchOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _storageRetry;

    /// <summary>Creates a processor over the batches container.</summary>
    public BatchProcessor(BlobContainerClient container, IBatchRequestHandler handler, BatchOptions options, TimeProvider? timeProvider = null, ILogger<BatchProcessor>? logger = null)
    {
        _container = container;
        _handler = handler;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<BatchProcessor>.Instance;
        _storageRetry = StorageRetry.Create(3, TimeSpan.FromSeconds(1), _logger);
    }

    /// <summary>Parses a queue message; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static BatchMessage ParseMessage(string message)
    {
        BatchMessage? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<BatchMessage>(message, Json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The batch queue message is not JSON {{\"batchId\", \"inputBlob\"}}: {ex.Message}", ex);
        }
        if (parsed is null || string.IsNullOrWhiteSpace(parsed.BatchId) || string.IsNullOrWhiteSpace(parsed.InputBlob))
        {
            throw new FormatException("The batch queue message needs both \"batchId\" and \"inputBlob\".");
        }
        if (!BatchIdPattern.IsMatch(parsed.BatchId))
        {
            throw new FormatException($"The batchId '{parsed.BatchId}' must be 1–128 letters, digits, '-' or '_' (it names a blob folder).");
        }
        return parsed;
    }

    /// <summary>Processes the batch named by the queue message text.</summary>
    public Task<BatchSummary> ProcessAsync(string message, CancellationToken cancellationToken = default)
        => ProcessAsync(ParseMessage(message), cancellationToken);

    /// <summary>Processes <paramref name="message"/>; returns the existing summary when the batch is already done.</summary>
    /// <exception cref="RequestFailedException">Storage failed after retries (the message will be redelivered).</exception>
    public async Task<BatchSummary> ProcessAsync(BatchMessage message, CancellationToken cancellationToken = default)
    {
        var existing = await ReadSummaryAsync(message.BatchId, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            LogAlreadyDone(_logger, message.BatchId, existing.Status);
            return existing with { AlreadyDone = true };
        }

        string[] lines;
        try
        {
            lines = await ReadLinesAsync(message.InputBlob, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Permanent: redelivery cannot make the input appear, so record the failure now.
            return await WriteSummaryAsync(new BatchSummary
            {
                BatchId = message.BatchId,
                InputBlob = message.InputBlob,
                Status = "failed",
                Error = $"The input blob {_container.Uri}/{message.InputBlob} does not exist; upload the JSONL file before queueing the batch.",
                CompletedAt = _time.GetUtcNow(),
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            return await WriteSummaryAsync(new BatchSummary
            {
                BatchId = message.BatchId, InputBlob = message.InputBlob, Status = "failed", Error = ex.Message, CompletedAt = _time.GetUtcNow(),
            }, cancellationToken).ConfigureAwait(false);
        }

        var items = lines
            .Select((text, index) => (text, number: index + 1))
            .Where(l => !string.IsNullOrWhiteSpace(l.text))
            .ToArray();
        var outcomes = new LineOutcome[items.Length];
        var duplicates = FindDuplicateCustomIds(items.Select(i => i.text).ToArray());
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Length),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxConcurrency), CancellationToken = cancellationToken },
            async (i, ct) => outcomes[i] = await ProcessLineAsync(message.BatchId, items[i].number, items[i].text, duplicates[i], ct).ConfigureAwait(false))
            .ConfigureAwait(false);

        var output = new StringBuilder();
        var errors = new StringBuilder();
        foreach (var outcome in outcomes)
        {
            (outcome.Success ? output : errors).Append(outcome.Line.ToJsonString()).Append('\n');
        }
        var prefix = message.BatchId + "/";
        await UploadAsync(prefix + ErrorFile, errors.ToString(), cancellationToken).ConfigureAwait(false);
        await UploadAsync(prefix + OutputFile, output.ToString(), cancellationToken).ConfigureAwait(false);
        var succeeded = outcomes.Count(o => o.Success);
        var summary = await WriteSummaryAsync(new BatchSummary
        {
            BatchId = message.BatchId,
            InputBlob = message.InputBlob,
            Status = "completed",
            Total = outcomes.Length,
            Succeeded = succeeded,
            Failed = outcomes.Length - succeeded,
            OutputBlob = prefix + OutputFile,
            ErrorBlob = prefix + ErrorFile,
            CompletedAt = _time.GetUtcNow(),
        }, cancellationToken).ConfigureAwait(false);
        LogCompleted(_logger, message.BatchId, summary.Total, summary.Succeeded, summary.Failed);
        return summary;
    }

    /// <summary>Reads <c>&lt;batchId&gt;/summary.json</c>, or null when the batch is not done.</summary>
    public async Task<BatchSummary?> ReadSummaryAsync(string batchId, CancellationToken cancellationToken = default)
    {
        var blob = _container.GetBlobClient($"{batchId}/{SummaryFile}");
        try
        {
            var content = await _storageRetry.ExecuteAsync(async ct => (await blob.DownloadContentAsync(ct).ConfigureAwait(false)).Value.Content, cancellationToken).ConfigureAwait(false);
            return content.ToObjectFromJson<BatchSummary>(Json);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Writes the summary (last, so it marks completion).</summary>
    internal async Task<BatchSummary> WriteSummaryAsync(BatchSummary summary, CancellationToken cancellationToken)
    {
        await UploadAsync($"{summary.BatchId}/{SummaryFile}", JsonSerializer.Serialize(summary, Json), cancellationToken).ConfigureAwait(false);
        return summary;
    }

    private async Task<LineOutcome> ProcessLineAsync(string batchId, int number, string text, bool duplicate, CancellationToken cancellationToken)
    {
        var id = $"batch_req_{batchId}_{number}";
        JsonObject? line;
        try
        {
            line = JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException ex)
        {
            return Failure(id, null, null, "invalid_json", $"Line {number} is not valid JSON: {ex.Message}");
        }
        if (line is null)
        {
            return Failure(id, null, null, "invalid_json", $"Line {number} is not a JSON object.");
        }
        var customId = line["custom_id"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        if (string.IsNullOrEmpty(customId))
        {
            return Failure(id, null, null, "missing_custom_id", $"Line {number} has no string \"custom_id\".");
        }
        if (duplicate)
        {
            return Failure(id, customId, null, "duplicate_custom_id", $"Line {number} repeats custom_id '{customId}'; each line needs a unique one.");
        }
        var method = line["method"] is JsonValue m && m.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : null;
        if (method != "POST")
        {
            return Failure(id, customId, null, "invalid_method", $"Line {number} has method '{method}'; batch lines use POST.");
        }
        var url = line["url"] is JsonValue u && u.GetValueKind() == JsonValueKind.String ? u.GetValue<string>() : "";
        if (line["body"] is not JsonObject body)
        {
            return Failure(id, customId, null, "invalid_body", $"Line {number} has no JSON object \"body\".");
        }

        BatchItemResponse response;
        try
        {
            response = await HandleWithBusyRetryAsync(url, body, id, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // host shutdown: the message is redelivered and the batch redone
        }
        catch (Exception ex)
        {
            LogLineFailed(_logger, batchId, customId, ex.Message);
            return Failure(id, customId, BatchItemResponse.Error(500, "server_error", ex.Message), "server_error", ex.Message);
        }
        if (response.IsSuccess)
        {
            return new LineOutcome(true, Line(id, customId, response, null));
        }
        var error = response.Body["error"];
        return Failure(id, customId, response,
            error?["code"]?.GetValue<string>() ?? $"http_{response.StatusCode}",
            error?["message"]?.GetValue<string>() ?? $"The request failed with status {response.StatusCode}.");
    }

    private async Task<BatchItemResponse> HandleWithBusyRetryAsync(string url, JsonObject body, string id, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var response = await _handler.HandleAsync(url, body, id, cancellationToken).ConfigureAwait(false);
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

    private static LineOutcome Failure(string id, string? customId, BatchItemResponse? response, string code, string message)
        => new(false, Line(id, customId, response, new JsonObject { ["code"] = code, ["message"] = message }));

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

    private static bool[] FindDuplicateCustomIds(string[] lines)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var duplicate = new bool[lines.Length];
        for (var i = 0; i < lines.Length; i++)
        {
            try
            {
                if (JsonNode.Parse(lines[i]) is JsonObject o && o["custom_id"] is JsonValue v && v.GetValueKind() == JsonValueKind.String)
                {
                    duplicate[i] = !seen.Add(v.GetValue<string>());
                }
            }
            catch (JsonException)
            {
                // reported as invalid_json by the line itself
            }
        }
        return duplicate;
    }

    private async Task<string[]> ReadLinesAsync(string inputBlob, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(inputBlob);
        var content = await _storageRetry.ExecuteAsync(async ct => (await blob.DownloadContentAsync(ct).ConfigureAwait(false)).Value.Content, cancellationToken).ConfigureAwait(false);
        var lines = content.ToString().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var count = lines.Count(l => !string.IsNullOrWhiteSpace(l));
        if (count > _options.MaxLines)
        {
            throw new InvalidDataException($"The input blob {blob.Uri} has {count:N0} request lines; a batch holds at most {_options.MaxLines:N0}. Split it.");
        }
        return lines;
    }

    private Task UploadAsync(string name, string content, CancellationToken cancellationToken)
        => _storageRetry.ExecuteAsync(async ct =>
        {
            await _container.GetBlobClient(name).UploadAsync(BinaryData.FromString(content), new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = name.EndsWith(".json", StringComparison.Ordinal) ? "application/json" : "application/jsonl" },
            }, ct).ConfigureAwait(false);
        }, cancellationToken).AsTask();

    private sealed record LineOutcome(bool Success, JsonObject Line);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")]
    private static partial Regex CreateBatchIdPattern();

    [LoggerMessage(200, LogLevel.Information, "Batch {BatchId} was already done ({Status}); redelivery ignored")]
    private static partial void LogAlreadyDone(ILogger logger, string batchId, string status);

    [LoggerMessage(201, LogLevel.Information, "Batch {BatchId} completed: {Total} lines, {Succeeded} succeeded, {Failed} failed")]
    private static partial void LogCompleted(ILogger logger, string batchId, int total, int succeeded, int failed);

    [LoggerMessage(202, LogLevel.Warning, "Batch {BatchId} line {CustomId} failed: {Error}")]
    private static partial void LogLineFailed(ILogger logger, string batchId, string customId, string error);
}
