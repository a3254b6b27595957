using System.Text.Json.Serialization;

namespace Qwen.Serving.Batch;

/// <summary>The latest redelivered or failed attempt at a chunk: the queue's real dequeue count and the error, for the poison record.</summary>
public sealed record BatchAttempt(
    [property: JsonPropertyName("chunk")] int Chunk,
    [property: JsonPropertyName("dequeue_count")] long DequeueCount,
    [property: JsonPropertyName("error")] string? Error);
