using Qwen.Inference.Packaging;
using Qwen.ModelPrep.Checkpoints;

namespace Qwen.Testing.Reference;

/// <summary>A plain float64 Qwen forward pass written from the spec alone (§3), the yardstick for every ONNX graph.</summary>
/// <remarks>
/// Weights stay float32 (they are exactly the checkpoint's BF16/F16 values); all arithmetic is float64. The
/// embedding is read row by row from the memory-mapped checkpoint, so only the layers and lm_head are held.
/// Thread-safety: a model may be shared; each <see cref="ReferenceSequence"/> belongs to one caller.
/// </remarks>
public sealed class ReferenceModel : IDisposable
{
    private readonly SafetensorsCheckpointReader _reader;

    private ReferenceModel(SafetensorsCheckpointReader reader, ReferenceLayer[] layers, float[] finalNorm, float[] lmHead, bool? dynamicNtk, bool? logn)
    {
        _reader = reader;
        Layers = layers;
        FinalNorm = finalNorm;
        LmHead = lmHead;
        var a = reader.Config.Architecture;
        Architecture = a with { UseDynamicNtk = dynamicNtk ?? a.UseDynamicNtk, UseLognAttn = logn ?? a.UseLognAttn };
    }

    public ModelArchitecture Architecture { get; }

    internal ReferenceLayer[] Layers { get; }

    internal float[] FinalNorm { get; } // [hidden]

    internal float[] LmHead { get; }    // [vocab, hidden]

    /// <summary>Loads a checkpoint directory (validated by <see cref="SafetensorsCheckpointReader"/>).</summary>
    /// <param name="checkpointDirectory">config.json and safetensors.</param>
    /// <param name="dynamicNtk">Overrides the config's use_dynamic_ntk (null keeps it), as the engine's long-context switch does.</param>
    /// <param name="logn">Overrides the config's use_logn_attn (null keeps it).</param>
    public static ReferenceModel Load(string checkpointDirectory, bool? dynamicNtk = null, bool? logn = null)
    {
        var reader = SafetensorsCheckpointReader.Open(checkpointDirectory);
        try
        {
            var a = reader.Config.Architecture;
            var layers = Enumerable.Range(0, a.NumLayers).Select(i => new ReferenceLayer(
                reader.ReadAll(QwenTensorLayout.Ln1(i)),
                reader.ReadAll(QwenTensorLayout.QkvWeight(i)),
                reader.ReadAll(QwenTensorLayout.QkvBias(i)),
                reader.ReadAll(QwenTensorLayout.AttnOut(i)),
                reader.ReadAll(QwenTensorLayout.Ln2(i)),
                reader.ReadAll(QwenTensorLayout.MlpW1(i)),
                reader.ReadAll(QwenTensorLayout.MlpW2(i)),
                reader.ReadAll(QwenTensorLayout.MlpOut(i)))).ToArray();
            return new ReferenceModel(reader, layers, reader.ReadAll(QwenTensorLayout.FinalNorm), reader.ReadAll(QwenTensorLayout.LmHead), dynamicNtk, logn);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>A new sequence with an empty KV cache.</summary>
    public ReferenceSequence StartSequence() => new(this);

    /// <summary>Greedy decoding: prefill <paramref name="prompt"/>, then append the arg-max token <paramref name="count"/> times (no stop tokens).</summary>
    public int[] Greedy(IReadOnlyList<int> prompt, int count)
    {
        var sequence = StartSequence();
        var result = new int[count];
        var logits = sequence.ForwardLast(prompt);
        for (var n = 0; n < count; n++)
        {
            result[n] = ArgMax(logits);
            if (n + 1 < count)
            {
                logits = sequence.ForwardLast([result[n]]);
            }
        }
        return result;
    }

    /// <summary>Index of the largest value (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<double> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }

    internal double[] Embed(int id)
    {
        if (id < 0 || id >= Architecture.VocabSize)
        {
            throw new ArgumentOutOfRangeException(nameof(id), $"token id {id} is outside the vocabulary of {Architecture.VocabSize}");
        }
        var row = new float[Architecture.HiddenSize];
        _reader.ReadRows(QwenTensorLayout.Embedding, id, 1, row);
        return Array.ConvertAll(row, v => (double)v);
    }

    internal double[] Logits(double[] hidden)
    {
        var a = Architecture;
        var normed = ReferenceMath.RmsNorm(hidden, FinalNorm, a.RmsNormEps);
        var logits = new double[a.VocabSize];
        Parallel.For(0, (a.VocabSize + 4095) / 4096, block =>
        {
            var end = Math.Min(a.VocabSize, (block + 1) * 4096);
            for (var r = block * 4096; r < end; r++)
            {
                logits[r] = ReferenceMath.Dot(LmHead.AsSpan(r * a.HiddenSize, a.HiddenSize), normed);
            }
        });
        return logits;
    }

    public void Dispose() => _reader.Dispose();
}
