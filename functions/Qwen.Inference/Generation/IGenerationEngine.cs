using Qwen.Inference.Packaging;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Generation;

/// <summary>Runs generation requests against one loaded model package. Implementations are thread-safe.</summary>
/// <remarks>
/// <c>QwenGenerator</c> runs one request at a time; <c>QwenScheduler</c> batches many.
/// Hosts depend on this interface only.
/// </remarks>
public interface IGenerationEngine : IAsyncDisposable
{
    /// <summary>The package manifest of the loaded model.</summary>
    ModelManifest Manifest { get; }

    /// <summary>The package's tokenizer.</summary>
    QwenTokenizer Tokenizer { get; }

    /// <summary>Streams one request: text deltas with their tokens, then a final update carrying the finish reason and usage.</summary>
    /// <exception cref="ContextLengthExceededException">The prompt (plus room for one token) does not fit the context; thrown before any compute.</exception>
    /// <exception cref="EngineBusyException">The admission queue is full.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the request's slot is freed within one step.</exception>
    IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default);
}
