using System.Text.Json.Serialization;

namespace Qwen.Serving.Batch;

/// <summary>An uploaded or generated file as OpenAI's <c>file</c> object; stored as <c>files/&lt;id&gt;.json</c> beside its bytes.</summary>
public sealed record FileRecord
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("object")] public string Object { get; init; } = "file";
    [JsonPropertyName("bytes")] public long Bytes { get; init; }
    [JsonPropertyName("created_at")] public long CreatedAt { get; init; }
    [JsonPropertyName("filename")] public required string Filename { get; init; }

    /// <summary><c>batch</c> (uploaded input) or <c>batch_output</c> (written by a batch).</summary>
    [JsonPropertyName("purpose")] public required string Purpose { get; init; }
    [JsonPropertyName("status")] public string Status { get; init; } = "processed";

    /// <summary>The tenant that uploaded (or, for output files, whose batch wrote) the file: <see cref="Http.CallerIdentity.Owner"/>. Stored, never shown.</summary>
    [JsonPropertyName("owner")] public string? Owner { get; init; }
    [JsonPropertyName("status_details")] public string? StatusDetails { get; init; }
}
