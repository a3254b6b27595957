using System.Text.Json.Serialization;

namespace Qwen.Serving.Batch;

/// <summary>How the requests of a finished chunk ended.</summary>
public sealed record BatchChunkCounts(
    [property: JsonPropertyName("completed")] int Completed,
    [property: JsonPropertyName("failed")] int Failed);
