using System.Text.Json;
using System.Text.Json.Serialization;

namespace Qwen.Serving.Batch;

/// <summary>The queue message for one unit of batch work: <c>{"batchId":"batch_…","chunk":3}</c>.</summary>
public sealed record BatchChunkMessage(
    [property: JsonPropertyName("batchId")] string BatchId,
    [property: JsonPropertyName("chunk")] int Chunk)
{
    /// <summary>The message text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Parses a message; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static BatchChunkMessage Parse(string text)
    {
        BatchChunkMessage? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<BatchChunkMessage>(text);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The batch queue message is not JSON {{\"batchId\", \"chunk\"}}: {ex.Message}", ex);
        }
        if (parsed is null || string.IsNullOrWhiteSpace(parsed.BatchId))
        {
            throw new FormatException("The batch queue message needs \"batchId\" and \"chunk\".");
        }
        if (!BatchIds.IsBatchId(parsed.BatchId))
        {
            throw new FormatException($"The batchId '{parsed.BatchId}' is not a batch id (batch_ and 24 hex digits).");
        }
        if (parsed.Chunk < 0)
        {
            throw new FormatException($"The chunk {parsed.Chunk} is negative.");
        }
        return parsed;
    }
}
