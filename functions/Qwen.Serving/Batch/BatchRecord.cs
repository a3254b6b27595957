using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Qwen.Serving.Batch;

/// <summary>The stored state of a batch (<c>batches/&lt;id&gt;/batch.json</c>): OpenAI's batch fields plus the chunk plan and per-chunk results.</summary>
/// <remarks>Changed only by conditional replace (<see cref="BatchStore.UpdateBatchAsync"/>), so racing workers never lose an update.</remarks>
public sealed record BatchRecord
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("endpoint")] public required string Endpoint { get; init; }
    [JsonPropertyName("input_file_id")] public required string InputFileId { get; init; }
    [JsonPropertyName("completion_window")] public string CompletionWindow { get; init; } = "24h";
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("metadata")] public Dictionary<string, string>? Metadata { get; init; }

    /// <summary>The tenant that created the batch (<see cref="Http.CallerIdentity.Owner"/>); only it sees the batch, and its lines run in its prefix-cache scope. Stored, never shown.</summary>
    [JsonPropertyName("owner")] public string? Owner { get; init; }
    [JsonPropertyName("output_file_id")] public string? OutputFileId { get; init; }
    [JsonPropertyName("error_file_id")] public string? ErrorFileId { get; init; }
    [JsonPropertyName("errors")] public List<BatchError>? Errors { get; init; }
    [JsonPropertyName("created_at")] public long CreatedAt { get; init; }
    [JsonPropertyName("in_progress_at")] public long? InProgressAt { get; init; }
    [JsonPropertyName("expires_at")] public long? ExpiresAt { get; init; }
    [JsonPropertyName("finalizing_at")] public long? FinalizingAt { get; init; }
    [JsonPropertyName("completed_at")] public long? CompletedAt { get; init; }
    [JsonPropertyName("failed_at")] public long? FailedAt { get; init; }
    [JsonPropertyName("cancelling_at")] public long? CancellingAt { get; init; }
    [JsonPropertyName("cancelled_at")] public long? CancelledAt { get; init; }

    /// <summary>Request lines in the input.</summary>
    [JsonPropertyName("total")] public int Total { get; init; }

    /// <summary>Size of the input file when the batch was created; a different size later means it was replaced.</summary>
    [JsonPropertyName("input_bytes")] public long InputBytes { get; init; }

    /// <summary>The chunk plan made at create time.</summary>
    [JsonPropertyName("chunks")] public List<BatchChunk> Chunks { get; init; } = [];

    /// <summary>Finished chunks (by index) and how their requests ended; set, never added to, so a retry cannot count twice.</summary>
    [JsonPropertyName("chunk_results")] public Dictionary<int, BatchChunkCounts> ChunkResults { get; init; } = [];

    /// <summary>Final counts, set when the batch ends (they may include chunks cut short by a cancel).</summary>
    [JsonPropertyName("final_counts")] public BatchChunkCounts? FinalCounts { get; init; }

    /// <summary>The latest redelivered or failed attempt (dequeue count and error), for the poison record.</summary>
    [JsonPropertyName("last_attempt")] public BatchAttempt? LastAttempt { get; init; }

    /// <summary>True when every chunk has a result.</summary>
    [JsonIgnore] public bool AllChunksDone => Chunks.Count == ChunkResults.Count;

    /// <summary>OpenAI's <c>request_counts</c>: final counts once ended, else the sum over finished chunks.</summary>
    [JsonIgnore] public BatchChunkCounts Counts => FinalCounts ?? new(ChunkResults.Values.Sum(c => c.Completed), ChunkResults.Values.Sum(c => c.Failed));

    /// <summary>The OpenAI <c>batch</c> object.</summary>
    public JsonObject ToApiObject()
    {
        var counts = Counts;
        return new JsonObject
        {
            ["id"] = Id,
            ["object"] = "batch",
            ["endpoint"] = Endpoint,
            ["errors"] = Errors is { Count: > 0 } errors
                ? new JsonObject
                {
                    ["object"] = "list",
                    ["data"] = new JsonArray(errors.Select(e => (JsonNode)new JsonObject
                    {
                        ["code"] = e.Code, ["message"] = e.Message, ["param"] = e.Param, ["line"] = e.Line,
                    }).ToArray()),
                }
                : null,
            ["input_file_id"] = InputFileId,
            ["completion_window"] = CompletionWindow,
            ["status"] = Status,
            ["output_file_id"] = OutputFileId,
            ["error_file_id"] = ErrorFileId,
            ["created_at"] = CreatedAt,
            ["in_progress_at"] = InProgressAt,
            ["expires_at"] = ExpiresAt,
            ["finalizing_at"] = FinalizingAt,
            ["completed_at"] = CompletedAt,
            ["failed_at"] = FailedAt,
            ["expired_at"] = null,
            ["cancelling_at"] = CancellingAt,
            ["cancelled_at"] = CancelledAt,
            ["request_counts"] = new JsonObject { ["total"] = Total, ["completed"] = counts.Completed, ["failed"] = counts.Failed },
            ["metadata"] = Metadata is null ? null : new JsonObject(Metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        };
    }
}
