using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Qwen.Serving.Batch;

namespace Qwen.Serving.Http;

/// <summary>OpenAI's Batches API: <c>POST /v1/batches</c>, <c>GET /v1/batches[/{id}]</c>, <c>POST /v1/batches/{id}/cancel</c>.</summary>
/// <remarks>
/// Create checks the request, then <see cref="BatchSubmitter"/> validates the input and queues the chunks; the queue's
/// worker does the rest (<see cref="BatchProcessor"/>). Thread-safe singleton.
/// </remarks>
public sealed class BatchesHandler(
    BatchStore store,
    BatchSubmitter submitter,
    ApiKeyAuthorizer authorizer,
    IServingMetrics metrics,
    ILogger<BatchesHandler> logger)
{
    private const string Route = "batches";
    private const long MaxBodyBytes = 64 * 1024;

    /// <summary>POST /v1/batches: <c>{"input_file_id","endpoint","completion_window":"24h","metadata"}</c>.</summary>
    public Task CreateAsync(HttpContext context) => OpenAiEndpoint.RunAsync(context, authorizer, metrics, logger, Route, async () =>
    {
        var ct = context.RequestAborted;
        var body = await OpenAiEndpoint.ReadObjectAsync(context, MaxBodyBytes).ConfigureAwait(false);
        var inputFileId = OpenAiEndpoint.OptString(body, "input_file_id") ?? throw OpenAiException.Invalid("input_file_id", "'input_file_id' is required: the id of an uploaded file with purpose 'batch'.");
        var endpoint = OpenAiEndpoint.OptString(body, "endpoint") ?? throw OpenAiException.Invalid("endpoint", $"'endpoint' is required: {string.Join(" or ", BatchInputPlanner.Endpoints)}.");
        var window = OpenAiEndpoint.OptString(body, "completion_window") ?? throw OpenAiException.Invalid("completion_window", "'completion_window' is required: '24h'.");
        if (window != "24h")
        {
            throw OpenAiException.Invalid("completion_window", $"The completion_window '{window}' is not supported; use '24h'.");
        }
        var metadata = ReadMetadata(body["metadata"]);

        var record = await submitter.SubmitAsync(inputFileId, endpoint, metadata, ct, CallerIdentity.Owner(context)).ConfigureAwait(false);
        await OpenAiEndpoint.WriteAsync(context, record.ToApiObject()).ConfigureAwait(false);
    });

    /// <summary>GET /v1/batches/{id}.</summary>
    public Task RetrieveAsync(HttpContext context, string batchId) => OpenAiEndpoint.RunAsync(context, authorizer, metrics, logger, Route, async () =>
    {
        var record = await GetOwnBatchAsync(context, batchId).ConfigureAwait(false);
        await OpenAiEndpoint.WriteAsync(context, record.ToApiObject()).ConfigureAwait(false);
    });

    /// <summary>GET /v1/batches?limit=&amp;after=: newest first.</summary>
    public Task ListAsync(HttpContext context) => OpenAiEndpoint.RunAsync(context, authorizer, metrics, logger, Route, async () =>
    {
        var limit = OpenAiEndpoint.QueryInt(context, "limit", 20, 1, 100);
        var batches = new List<BatchRecord>();
        var owner = CallerIdentity.Owner(context);
        await foreach (var batch in store.ListBatchesAsync(context.RequestAborted).ConfigureAwait(false))
        {
            if (string.Equals(batch.Owner, owner, StringComparison.Ordinal))
            {
                batches.Add(batch);
            }
        }
        var ordered = batches.OrderByDescending(b => b.CreatedAt).ThenByDescending(b => b.Id, StringComparer.Ordinal)
            .Select(b => (b.Id, (JsonNode)b.ToApiObject())).ToList();
        await OpenAiEndpoint.WriteAsync(context, OpenAiEndpoint.Page(ordered, context.Request.Query["after"].ToString(), limit)).ConfigureAwait(false);
    });

    /// <summary>POST /v1/batches/{id}/cancel: <c>cancelling</c> at once; running requests stop and the batch ends <c>cancelled</c> with the finished lines in its files.</summary>
    public Task CancelAsync(HttpContext context, string batchId) => OpenAiEndpoint.RunAsync(context, authorizer, metrics, logger, Route, async () =>
    {
        var now = store.Now;
        _ = await GetOwnBatchAsync(context, batchId).ConfigureAwait(false);
        var record = await store.UpdateBatchAsync(batchId, r => BatchStatus.IsRunning(r.Status)
            ? r with { Status = BatchStatus.Cancelling, CancellingAt = now }
            : null, context.RequestAborted).ConfigureAwait(false) ?? throw NotFound(batchId);
        if (record.Status is not (BatchStatus.Cancelling or BatchStatus.Cancelled))
        {
            throw new OpenAiException(409, $"Cannot cancel a batch with status '{record.Status}'.", "invalid_request_error", "batch_id", "batch_not_cancellable");
        }
        await OpenAiEndpoint.WriteAsync(context, record.ToApiObject()).ConfigureAwait(false);
    });

    private static Dictionary<string, string>? ReadMetadata(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject map:
                if (map.Count > 16)
                {
                    throw OpenAiException.Invalid("metadata", $"'metadata' has {map.Count} keys; at most 16 are allowed.");
                }
                var result = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (key, value) in map)
                {
                    if (key.Length > 64)
                    {
                        throw OpenAiException.Invalid("metadata", $"The metadata key '{key[..16]}…' has {key.Length} characters; at most 64 are allowed.");
                    }
                    if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.String || v.GetValue<string>() is not { } text)
                    {
                        throw OpenAiException.Invalid("metadata", $"The metadata value of '{key}' must be a string.");
                    }
                    if (text.Length > 512)
                    {
                        throw OpenAiException.Invalid("metadata", $"The metadata value of '{key}' has {text.Length} characters; at most 512 are allowed.");
                    }
                    result[key] = text;
                }
                return result;
            default:
                throw OpenAiException.Invalid("metadata", "'metadata' must be an object of string values.");
        }
    }

    // Another tenant's batch is answered exactly like a missing one, so ids cannot be probed.
    private async Task<BatchRecord> GetOwnBatchAsync(HttpContext context, string batchId)
    {
        var record = await store.GetBatchAsync(batchId, context.RequestAborted).ConfigureAwait(false);
        return record is not null && string.Equals(record.Owner, CallerIdentity.Owner(context), StringComparison.Ordinal) ? record : throw NotFound(batchId);
    }

    private static OpenAiException NotFound(string batchId) =>
        new(404, $"No such Batch object: {batchId}", "invalid_request_error", "batch_id", "batch_not_found");
}
