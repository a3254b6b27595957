using System.Text.Json.Serialization;

namespace Qwen.Serving.Batch;

/// <summary>A run of consecutive request lines of the input file: its requests and where its bytes are, so a worker reads only its range.</summary>
public sealed record BatchChunk
{
    /// <summary>Index (0-based, over request lines) of the chunk's first request.</summary>
    [JsonPropertyName("first_index")] public int FirstIndex { get; init; }

    /// <summary>Requests in the chunk.</summary>
    [JsonPropertyName("count")] public int Count { get; init; }

    /// <summary>Line number (1-based, in the file) of the first request.</summary>
    [JsonPropertyName("first_line")] public int FirstLine { get; init; }

    /// <summary>Byte offset of the first request's line.</summary>
    [JsonPropertyName("offset")] public long Offset { get; init; }

    /// <summary>Bytes from <see cref="Offset"/> through the last request's line.</summary>
    [JsonPropertyName("length")] public long Length { get; init; }
}
