using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scoring;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Generation;

/// <summary>
/// Runs one generation request at a time against a model package with ONNX Runtime: single-pass prefill, then one
/// decode step per token over a KV cache allocated once at load.
/// </summary>
/// <remarks>
/// Thread-safe: concurrent callers wait their turn on a semaphore (no admission limit; the batching scheduler is the
/// engine for concurrency). Per request, NTK α is fixed from the prompt length and LogN follows the absolute position.
/// With <see cref="QwenGeneratorOptions.ReusePromptPrefix"/> the KV entries of the previous request are kept, and a
/// prompt that starts with the same tokens (and needs the same α) prefills only what is new.
/// </remarks>
public sealed class QwenGenerator : IGenerationEngine, IPromptScorer
{
    private readonly SequenceRunner _runner;
    private readonly PromptScorer _scorer;
    private readonly QwenGeneratorOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly int _vocabularySize;
    private bool _disposed;

    /// <summary>Creates a generator for an opened package and its tokenizer.</summary>
    /// <exception cref="QwenEngineException">The execution provider is missing, the graph does not load, or does not match the manifest.</exception>
    public QwenGenerator(ModelPackage package, QwenTokenizer tokenizer, QwenGeneratorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(package);
        ArgumentNullException.ThrowIfNull(tokenizer);
        _options = options ?? new QwenGeneratorOptions();
        Package = package;
        Tokenizer = tokenizer;
        var tokenizerInfo = package.Manifest.Tokenizer;
        _vocabularySize = Math.Min(tokenizerInfo.SpecialStartId + tokenizerInfo.SpecialCount, package.Manifest.Architecture.VocabSize);
        _runner = new SequenceRunner(package, _options.Runtime);
        _scorer = new PromptScorer(package.Manifest, _runner.Session, _runner.Allocator, _runner.ContextLength);
    }

    /// <summary>Opens, verifies and loads the package in <paramref name="packageDirectory"/> with its tokenizer.</summary>
    /// <exception cref="QwenEngineException">The package is incomplete or damaged, or the runtime cannot load it.</exception>
    public static QwenGenerator Load(string packageDirectory, QwenGeneratorOptions? options = null)
    {
        options ??= new QwenGeneratorOptions();
        var package = ModelPackage.Open(packageDirectory, options.Runtime.Verification).WithLongContext(options.Runtime);
        var tokenizer = QwenTokenizer.Load(package.TokenizerPath);
        return new QwenGenerator(package, tokenizer, options);
    }

    /// <summary>The opened package.</summary>
    public ModelPackage Package { get; }

    /// <inheritdoc />
    public ModelManifest Manifest => Package.Manifest;

    /// <inheritdoc />
    public QwenTokenizer Tokenizer { get; }

    /// <summary>Longest sequence (prompt + output) this generator serves.</summary>
    public int ContextLength => _runner.ContextLength;

    /// <summary>Bytes held by the KV cache.</summary>
    public long KvCacheBytes => _runner.KvBytes;

    /// <inheritdoc />
    /// <remarks>Arguments and the context limit are checked when this is called, before any compute.</remarks>
    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        GenerationRequestChecks.Validate(request, Manifest.Architecture.VocabSize, ContextLength);
        return GenerateCoreAsync(request, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Runs on the generator's session with its own KV cache, beside any generation.</remarks>
    public Task<IReadOnlyList<PromptTokenScore>> ScorePromptAsync(IReadOnlyList<int> tokens, int topLogprobs, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _scorer.ScoreAsync(tokens, topLogprobs, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _runner.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async IAsyncEnumerable<GenerationUpdate> GenerateCoreAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var admitted = Stopwatch.GetTimestamp();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var arch = Manifest.Architecture;
            var prompt = request.PromptTokens;
            var maxNew = Math.Min(request.MaxNewTokens ?? Manifest.Generation.MaxNewTokens, ContextLength - prompt.Count);
            var alpha = LongContext.RequestAlpha(arch, prompt.Count);
            var rotary = new RotaryEmbedding(arch.HeadDim, arch.RotaryBase, alpha);
            var reuse = _options.ReusePromptPrefix ? _runner.ReusableLength(prompt, alpha) : 0;
            var stopIds = new HashSet<int>(GenerationRequestChecks.AlwaysStopIds(Manifest));
            stopIds.UnionWith(request.StopTokenIds);
            var sampler = new Sampler(request.Sampling, prompt, _vocabularySize, request.Logprobs, request.TopLogprobs);
            var decoder = Tokenizer.CreateStreamDecoder();
            var stops = new StopStringMatcher(request.StopStrings);

            using var runOptions = new RunOptions();
            // Terminate stops a long prefill mid-graph; between steps the token itself is checked.
            using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);

            var token = await Task.Run(() =>
            {
                _runner.Prefill(prompt, reuse, rotary, runOptions, cancellationToken);
                return sampler.Sample(_runner.Logits);
            }, cancellationToken).ConfigureAwait(false);
            var timeToFirstToken = Stopwatch.GetElapsedTime(admitted);

            var completion = 0;
            while (true)
            {
                completion++;
                GenerationUsage Usage() => new(prompt.Count, completion, reuse, timeToFirstToken);

                if (stopIds.Contains(token.Id))
                {
                    yield return new GenerationUpdate(stops.Append(decoder.Flush()) + stops.Flush(), [], FinishReason.Stop, Usage());
                    yield break;
                }
                var text = stops.Append(decoder.Append(token.Id));
                if (stops.Stopped)
                {
                    yield return new GenerationUpdate(text, [token], FinishReason.Stop, Usage());
                    yield break;
                }
                if (completion >= maxNew)
                {
                    text += stops.Append(decoder.Flush());
                    text += stops.Flush();
                    yield return new GenerationUpdate(text, [token], stops.Stopped ? FinishReason.Stop : FinishReason.Length, Usage());
                    yield break;
                }
                yield return new GenerationUpdate(text, [token]);

                cancellationToken.ThrowIfCancellationRequested();
                var previous = token.Id;
                token = await Task.Run(() =>
                {
                    _runner.Decode(previous, rotary, runOptions, cancellationToken);
                    return sampler.Sample(_runner.Logits);
                }, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
