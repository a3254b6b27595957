using System.Text.Json.Nodes;

namespace Qwen.Serving.Batch;

/// <summary>Answers one batch request line (<c>url</c> + <c>body</c>) as the online endpoint would.</summary>
/// <remarks>Implementations are thread-safe; validation problems are 4xx responses, not exceptions.</remarks>
public interface IBatchRequestHandler
{
    /// <summary>Handles <paramref name="body"/> sent to <paramref name="url"/> for the batch's <paramref name="owner"/> (its tenant, for the prefix-cache scope; null when unknown).</summary>
    /// <exception cref="Inference.Generation.EngineBusyException">The engine is saturated; the processor waits and retries.</exception>
    Task<BatchItemResponse> HandleAsync(string url, JsonObject body, string requestId, string? owner, CancellationToken cancellationToken);
}
