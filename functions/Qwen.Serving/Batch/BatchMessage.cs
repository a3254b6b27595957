using System.Text.Json.Serialization;

namespace Qwen.Serving.Batch;

/// <summary>The queue message that starts a batch: <c>{"batchId", "inputBlob"}</c>; the input is a JSONL blob in the batches container.</summary>
public sealed record BatchMessage(
    [property: JsonPropertyName("batchId")] string BatchId,
    [property: JsonPropertyName("inputBlob")] string InputBlob);
