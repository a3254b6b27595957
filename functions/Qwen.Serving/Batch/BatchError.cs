using System.Text.Json.Serialization;

namespace Qwen.Serving.Batch;

/// <summary>One entry of a batch's <c>errors.data</c>: why the batch as a whole failed.</summary>
public sealed record BatchError(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("param")] string? Param = null,
    [property: JsonPropertyName("line")] int? Line = null);
