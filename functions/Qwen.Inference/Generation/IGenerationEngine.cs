using System.Runtime.CompilerServices;
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

    /// <summary>Streams several choices of one prompt (OpenAI <c>n</c>), interleaved as they are produced; each choice ends with its own final update.</summary>
    /// <remarks>
    /// All <paramref name="choices"/> share <see cref="GenerationRequest.PromptTokens"/> and differ only in sampling
    /// (seeds). The default runs them as independent requests; an engine that can fork KV rows prefills the prompt once.
    /// One failed or refused choice fails the whole stream and cancels the others.
    /// </remarks>
    IAsyncEnumerable<ChoiceUpdate> GenerateChoicesAsync(IReadOnlyList<GenerationRequest> choices, CancellationToken cancellationToken = default)
        => MergeChoicesAsync(this, choices, cancellationToken);

    /// <summary>Runs <paramref name="choices"/> as independent requests and merges their streams.</summary>
    protected static async IAsyncEnumerable<ChoiceUpdate> MergeChoicesAsync(IGenerationEngine engine, IReadOnlyList<GenerationRequest> choices, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(choices.Count, nameof(choices));
        // Start every choice first so admission errors (context, busy) surface before any update is read.
        var streams = choices.Select(c => engine.GenerateAsync(c, cancellationToken)).ToArray();
        await foreach (var update in ChoiceStreams.MergeAsync(streams, cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }
}
