using Qwen.Inference.Packaging;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Generation;

/// <summary>Runs generation requests against one loaded model package. Implementations are thread-safe.</summary>
/// <remarks>
/// <c>QwenScheduler</c> is the engine on every execution provider; tests use fakes.
/// Hosts depend on this interface only.
/// </remarks>
public interface IGenerationEngine : IAsyncDisposable
{
    /// <summary>The package manifest of the loaded model.</summary>
    ModelManifest Manifest { get; }

    /// <summary>The package's tokenizer.</summary>
    QwenTokenizer Tokenizer { get; }

    /// <summary>Longest prompt + output one request may have: what a KV row holds, which can be less than the package's MaxContext.</summary>
    /// <remarks>Hosts advertise this (<c>/v1/models</c> <c>context_length</c>) and check requests against it.</remarks>
    int ContextLength => Manifest.Architecture.MaxContext;

    /// <summary>Streams one request: text deltas with their tokens, then a final update carrying the finish reason and usage.</summary>
    /// <exception cref="ContextLengthExceededException">The prompt (plus room for one token) does not fit the context; thrown before any compute.</exception>
    /// <exception cref="EngineBusyException">The admission queue is full.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the request's slot is freed within one step.</exception>
    IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default);
}
