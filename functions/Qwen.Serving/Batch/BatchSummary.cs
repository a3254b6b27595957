using System.Text.Json.Serialization;

namespace Qwen.Serving.Batch;

/// <summary>The result record of a batch, written last as <c>&lt;batchId&gt;/summary.json</c>; its presence means the batch is done.</summary>
public sealed record BatchSummary
{
    [JsonPropertyName("batch_id")] public required string BatchId { get; init; }
    [JsonPropertyName("input_blob")] public string? InputBlob { get; init; }

    /// <summary><c>completed</c> (every line answered or reported) or <c>failed</c> (the batch itself could not run).</summary>
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("total")] public int Total { get; init; }
    [JsonPropertyName("succeeded")] public int Succeeded { get; init; }
    [JsonPropertyName("failed")] public int Failed { get; init; }
    [JsonPropertyName("output_blob")] public string? OutputBlob { get; init; }
    [JsonPropertyName("error_blob")] public string? ErrorBlob { get; init; }

    /// <summary>Why the batch failed as a whole (missing input, poison message), else null.</summary>
    [JsonPropertyName("error")] public string? Error { get; init; }
    [JsonPropertyName("completed_at")] public DateTimeOffset CompletedAt { get; init; }

    /// <summary>True when this call found the batch already done and did nothing (redelivery).</summary>
    [JsonIgnore] public bool AlreadyDone { get; init; }
}
