using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Tokenization;

namespace Qwen.Server.Tests.Fakes;

/// <summary>Test engine over the real tokenizer: streams the text <see cref="Respond"/> gives, token by token, honouring stop strings, max tokens, cancellation and a concurrency cap (beyond it: <see cref="EngineBusyException"/>).</summary>
public sealed class FakeGenerationEngine(QwenTokenizer tokenizer, int maxContext = 2048, string name = "qwen-test") : IGenerationEngine
{
    private int _active;
    private int _cancelled;
    private int _completed;

    public ModelManifest Manifest { get; } = new()
    {
        Name = name,
        Architecture = new ModelArchitecture
        {
            HiddenSize = 64, NumLayers = 2, NumHeads = 4, HeadDim = 16, IntermediateSize = 128, VocabSize = 151936,
            SeqLength = 2048, RotaryBase = 10000, RmsNormEps = 1e-6, UseDynamicNtk = true, UseLognAttn = true,
            ConfigStyle = "v1.1", MaxContext = maxContext,
        },
        Dtype = "fp32",
        Tokenizer = new TokenizerInfo(),
        Generation = new GenerationDefaults(),
        Io = new GraphIo(),
        Files = [],
    };

    public QwenTokenizer Tokenizer => tokenizer;

    /// <summary>The reply for a request (the default echoes a fixed sentence).</summary>
    public Func<GenerationRequest, string> Respond { get; set; } = _ => "Hello! I am a test engine.";

    /// <summary>Pause before each token (to make streams observable and cancellable).</summary>
    public TimeSpan TokenDelay { get; set; }

    /// <summary>Generations allowed at once; one more gets <see cref="EngineBusyException"/>.</summary>
    public int MaxConcurrent { get; set; } = int.MaxValue;

    /// <summary>Every request the engine received, in order.</summary>
    public ConcurrentQueue<GenerationRequest> Requests { get; } = new();

    /// <summary>Generations stopped by their cancellation token.</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);

    /// <summary>Generations that produced their final update.</summary>
    public int Completed => Volatile.Read(ref _completed);

    /// <summary>Generations running now.</summary>
    public int Active => Volatile.Read(ref _active);

    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Increment(ref _active) > MaxConcurrent)
        {
            Interlocked.Decrement(ref _active);
            throw new EngineBusyException(MaxConcurrent, MaxConcurrent, TimeSpan.FromSeconds(2));
        }
        try
        {
            if (request.PromptTokens.Count + 1 > maxContext)
            {
                throw new ContextLengthExceededException(request.PromptTokens.Count, maxContext);
            }
            Requests.Enqueue(request);
            var started = DateTime.UtcNow;
            var text = Respond(request);
            var finish = FinishReason.Stop;
            foreach (var stop in request.StopStrings)
            {
                var at = text.IndexOf(stop, StringComparison.Ordinal);
                if (at >= 0)
                {
                    text = text[..at];
                }
            }
            var ids = tokenizer.Encode(text).ToList();
            var budget = request.MaxNewTokens ?? 512;
            if (ids.Count > budget)
            {
                ids = ids.Take(budget).ToList();
                finish = FinishReason.Length;
            }
            var decoder = tokenizer.CreateStreamDecoder();
            TimeSpan? ttft = null;
            foreach (var id in ids)
            {
                try
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (TokenDelay > TimeSpan.Zero)
                    {
                        await Task.Delay(TokenDelay, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref _cancelled);
                    throw;
                }
                ttft ??= DateTime.UtcNow - started;
                IReadOnlyList<TokenLogprob> top = request.TopLogprobs > 0 ? [new TokenLogprob(id, -0.25f)] : [];
                yield return new GenerationUpdate(decoder.Append(id), [new GeneratedToken(id, request.Logprobs ? -0.25f : float.NaN, top)]);
            }
            var usage = new GenerationUsage(request.PromptTokens.Count, ids.Count, 0, ttft ?? DateTime.UtcNow - started);
            Interlocked.Increment(ref _completed);
            yield return new GenerationUpdate(decoder.Flush(), [], finish, usage);
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
