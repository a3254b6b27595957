using Microsoft.ML.OnnxRuntime;
using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;

namespace Qwen.Inference.Scoring;

/// <summary>
/// Scores prompts on an engine's ONNX session: one prefill over a KV cache sized to the prompt, asking the graph for
/// the logits of every position (<c>logits_indices</c> = 0…T−1 instead of the last one), in chunks.
/// </summary>
/// <remarks>
/// Background: the session is the engine's own (ONNX Runtime allows concurrent runs on one session), so scoring needs
/// no second copy of the weights; the KV cache and the bindings are per call, so it never touches the engine's rows.
/// NTK α comes from the whole prompt length and LogN from absolute positions, exactly as a generation request with
/// this prompt would run. Chunks of <see cref="ChunkTokens"/> bound the logits memory ([chunk, vocab] float32).
/// Thread-safe; calls run one at a time.
/// </remarks>
public sealed class PromptScorer
{
    /// <summary>Positions whose logits one graph run returns.</summary>
    public const int ChunkTokens = 128;

    private readonly ModelManifest _manifest;
    private readonly InferenceSession _session;
    private readonly OrtAllocator _allocator;
    private readonly int _contextLength;
    private readonly bool _scalarTotalLength;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Scores on <paramref name="session"/> (borrowed, not disposed) with KV buffers from <paramref name="allocator"/>.</summary>
    /// <param name="manifest">The package manifest, with the engine's long-context settings applied.</param>
    /// <param name="session">The engine's session of the package graph.</param>
    /// <param name="allocator">Where the KV cache lives (the engine's device allocator).</param>
    /// <param name="contextLength">Longest prompt accepted.</param>
    public PromptScorer(ModelManifest manifest, InferenceSession session, OrtAllocator allocator, int contextLength)
    {
        _manifest = manifest;
        _session = session;
        _allocator = allocator;
        _contextLength = contextLength;
        _scalarTotalLength = session.InputMetadata[manifest.Io.TotalSequenceLength].Dimensions.Length == 0;
    }

    /// <inheritdoc cref="IPromptScorer.ScorePromptAsync"/>
    public async Task<IReadOnlyList<PromptTokenScore>> ScoreAsync(IReadOnlyList<int> tokens, int topLogprobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfZero(tokens.Count, nameof(tokens));
        ArgumentOutOfRangeException.ThrowIfNegative(topLogprobs);
        var vocab = _manifest.Architecture.VocabSize;
        foreach (var id in tokens)
        {
            if ((uint)id >= (uint)vocab)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), id, $"token id {id} is outside the vocabulary of {vocab:N0} rows");
            }
        }
        if (tokens.Count > _contextLength)
        {
            throw new ContextLengthExceededException(tokens.Count, _contextLength);
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(() => Score(tokens, topLogprobs, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private PromptTokenScore[] Score(IReadOnlyList<int> tokens, int topLogprobs, CancellationToken cancellationToken)
    {
        var arch = _manifest.Architecture;
        var io = _manifest.Io;
        var vocab = arch.VocabSize;
        var count = tokens.Count;
        var rotary = new RotaryEmbedding(arch.HeadDim, arch.RotaryBase, LongContext.RequestAlpha(arch, count));
        var scores = new PromptTokenScore[count];
        scores[0] = new PromptTokenScore(tokens[0], null, []);

        using var binding = OrtGuard.Invoke("create the scoring binding", _session.CreateIoBinding);
        var kvType = OnnxSessionFactory.KvElementType(io);
        long[] kvShape = [1, arch.NumHeads, count, arch.HeadDim]; // per layer and kind: [1, heads, T, headDim]
        var kv = new List<OrtValue>(arch.NumLayers * 2);
        try
        {
            for (var layer = 0; layer < arch.NumLayers; layer++)
            {
                var key = OrtGuard.Invoke("allocate the scoring KV cache", () => OrtValue.CreateAllocatedTensorValue(_allocator, kvType, kvShape));
                kv.Add(key);
                var value = OrtGuard.Invoke("allocate the scoring KV cache", () => OrtValue.CreateAllocatedTensorValue(_allocator, kvType, kvShape));
                kv.Add(value);
                // Past and present share memory, so GroupQueryAttention appends each chunk in place.
                var culture = System.Globalization.CultureInfo.InvariantCulture;
                OrtGuard.Invoke("bind the scoring KV cache", () =>
                {
                    binding.BindInput(string.Format(culture, io.PastKey, layer), key);
                    binding.BindInput(string.Format(culture, io.PastValue, layer), value);
                    binding.BindOutput(string.Format(culture, io.PresentKey, layer), key);
                    binding.BindOutput(string.Format(culture, io.PresentValue, layer), value);
                });
            }
            return Run(tokens, topLogprobs, binding, rotary, scores, cancellationToken);
        }
        finally
        {
            foreach (var value in kv)
            {
                value.Dispose();
            }
        }
    }

    private PromptTokenScore[] Run(IReadOnlyList<int> tokens, int topLogprobs, OrtIoBinding binding, RotaryEmbedding rotary, PromptTokenScore[] scores, CancellationToken cancellationToken)
    {
        var arch = _manifest.Architecture;
        var io = _manifest.Io;
        var vocab = arch.VocabSize;
        var count = tokens.Count;
        var half = arch.HeadDim / 2;
        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        var logits = new float[Math.Min(ChunkTokens, count) * vocab]; // [chunk, vocab]
        for (var start = 0; start < count; start += ChunkTokens)
        {
            var length = Math.Min(ChunkTokens, count - start);
            var ids = new long[length];          // [1, T]
            var cos = new float[length * half];  // [1, T, d/2]
            var sin = new float[length * half];  // [1, T, d/2]
            var logn = new float[length];        // [1, T]
            var indices = new long[length];      // [T]: every position of the chunk
            for (var t = 0; t < length; t++)
            {
                ids[t] = tokens[start + t];
                indices[t] = t;
            }
            rotary.Fill(start, cos, sin);
            LongContext.FillLognScale(arch, start, logn);
            var total = start + length;
            using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [1, length]);
            using var cosValue = OrtValue.CreateTensorValueFromMemory(cos, [1, length, half]);
            using var sinValue = OrtValue.CreateTensorValueFromMemory(sin, [1, length, half]);
            using var lognValue = OrtValue.CreateTensorValueFromMemory(logn, [1, length]);
            using var seqlensValue = OrtValue.CreateTensorValueFromMemory(new[] { total - 1 }, [1]);
            using var totalValue = OrtValue.CreateTensorValueFromMemory(new[] { total }, _scalarTotalLength ? [] : [1]);
            using var indicesValue = OrtValue.CreateTensorValueFromMemory(indices, [length]);
            using var logitsValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, logits.AsMemory(0, length * vocab), [length, vocab]);
            OrtGuard.Invoke("bind the scoring inputs", () =>
            {
                binding.BindInput(io.InputIds, idsValue);
                binding.BindInput(io.RopeCos, cosValue);
                binding.BindInput(io.RopeSin, sinValue);
                binding.BindInput(io.LognScale, lognValue);
                binding.BindInput(io.SeqLensK, seqlensValue);
                binding.BindInput(io.TotalSequenceLength, totalValue);
                binding.BindInput(io.LogitsIndices, indicesValue);
                binding.BindOutput(io.Logits, logitsValue);
            });
            cancellationToken.ThrowIfCancellationRequested();
            OrtGuard.Invoke("score the prompt", () => _session.RunWithBinding(runOptions, binding), cancellationToken);
            binding.SynchronizeBoundOutputs();
            // Logits at position p predict token p + 1.
            for (var t = 0; t < length && start + t + 1 < count; t++)
            {
                var row = logits.AsSpan(t * vocab, vocab);
                scores[start + t + 1] = Score(row, tokens[start + t + 1], topLogprobs);
            }
        }
        return scores;
    }

    /// <summary>log-softmax of <paramref name="row"/> at <paramref name="id"/> and its top entries, in float64.</summary>
    internal static PromptTokenScore Score(ReadOnlySpan<float> row, int id, int topLogprobs)
    {
        double max = System.Numerics.Tensors.TensorPrimitives.Max(row);
        var sum = 0.0;
        foreach (var v in row)
        {
            sum += Math.Exp(v - max);
        }
        var logSumExp = max + Math.Log(sum);
        if (topLogprobs == 0)
        {
            return new PromptTokenScore(id, row[id] - logSumExp, []);
        }
        // Partial selection: keep the best k (ties: the lower id first) in a small sorted list.
        var best = new List<int>(topLogprobs + 1);
        for (var i = 0; i < row.Length; i++)
        {
            if (best.Count == topLogprobs && row[i] <= row[best[^1]])
            {
                continue;
            }
            var at = best.Count;
            while (at > 0 && row[i] > row[best[at - 1]])
            {
                at--;
            }
            best.Insert(at, i);
            if (best.Count > topLogprobs)
            {
                best.RemoveAt(best.Count - 1);
            }
        }
        var top = new TokenLogprob[best.Count];
        for (var i = 0; i < top.Length; i++)
        {
            top[i] = new TokenLogprob(best[i], (float)(row[best[i]] - logSumExp));
        }
        return new PromptTokenScore(id, row[id] - logSumExp, top);
    }
}
