namespace Qwen.Testing.Reference;

/// <summary>One sequence being run through a <see cref="ReferenceModel"/>: its KV cache and its NTK α.</summary>
/// <remarks>Not thread-safe. α is fixed by the first call (the prefill) and reused by every later call, as in HF (spec §3.5).</remarks>
public sealed class ReferenceSequence
{
    private readonly ReferenceModel _model;
    private readonly List<double[]>[] _keys;   // per layer: one [heads·headDim] post-RoPE key per position
    private readonly List<double[]>[] _values; // per layer: one [heads·headDim] value per position

    internal ReferenceSequence(ReferenceModel model)
    {
        _model = model;
        _keys = Enumerable.Range(0, model.Architecture.NumLayers).Select(_ => new List<double[]>()).ToArray();
        _values = Enumerable.Range(0, model.Architecture.NumLayers).Select(_ => new List<double[]>()).ToArray();
    }

    /// <summary>Tokens in the cache.</summary>
    public int Length { get; private set; }

    /// <summary>NTK α chosen at the prefill (null before it).</summary>
    public int? Alpha { get; private set; }

    /// <summary>Runs <paramref name="ids"/> (the prefill on the first call, then decode steps) and returns logits for every one of them: [ids.Count][vocab].</summary>
    public double[][] Forward(IReadOnlyList<int> ids) => Run(ids, allLogits: true);

    /// <summary>Like <see cref="Forward"/> but returns only the last position's logits (lm_head is the expensive part).</summary>
    public double[] ForwardLast(IReadOnlyList<int> ids) => Run(ids, allLogits: false)[^1];

    /// <summary>
    /// Runs <paramref name="ids"/> like <see cref="Forward"/> and returns log p(ids[t+1] | ids[0..t]) for t = 0…Count−2
    /// (teacher forcing; log-softmax over every vocabulary row), without holding every position's logits.
    /// </summary>
    public double[] LogLikelihoods(IReadOnlyList<int> ids)
    {
        var hidden = RunHidden(ids);
        var result = new double[ids.Count - 1];
        for (var t = 0; t + 1 < ids.Count; t++)
        {
            result[t] = LogSoftmaxAt(_model.Logits(hidden[t]), ids[t + 1]);
        }
        return result;
    }

    /// <summary>log softmax(<paramref name="logits"/>)[<paramref name="index"/>].</summary>
    public static double LogSoftmaxAt(double[] logits, int index)
    {
        var max = logits.Max();
        var sum = 0.0;
        foreach (var v in logits)
        {
            sum += Math.Exp(v - max);
        }
        return logits[index] - max - Math.Log(sum);
    }

    private double[][] Run(IReadOnlyList<int> ids, bool allLogits)
    {
        var hidden = RunHidden(ids);
        return allLogits
            ? hidden.Select(_model.Logits).ToArray()
            : [_model.Logits(hidden[^1])];
    }

    /// <summary>Runs the layers over <paramref name="ids"/> (filling the cache) and returns each position's last hidden state.</summary>
    private double[][] RunHidden(IReadOnlyList<int> ids)
    {
        if (ids.Count == 0)
        {
            throw new ArgumentException("at least one token is needed", nameof(ids));
        }
        var a = _model.Architecture;
        if (Alpha is null)
        {
            // α comes from the total key length of the call without past KV: the prompt length (spec §3.5).
            Alpha = a.UseDynamicNtk ? ReferenceMath.NtkAlpha(ids.Count, a.SeqLength) : 1;
        }
        var rotaryBase = ReferenceMath.NtkBase(a.RotaryBase, Alpha.Value, a.HeadDim);
        var hidden = ids.Select(_model.Embed).ToArray();
        var start = Length;
        for (var layer = 0; layer < a.NumLayers; layer++)
        {
            var w = _model.Layers[layer];
            // Keys and values of this call enter the cache first, so a token attends to itself and everything before it.
            var queries = new double[ids.Count][];
            for (var t = 0; t < ids.Count; t++)
            {
                var normed = ReferenceMath.RmsNorm(hidden[t], w.Ln1, a.RmsNormEps);
                var qkv = ReferenceMath.Linear(w.QkvWeight, 3 * a.HiddenSize, a.HiddenSize, normed, w.QkvBias);
                var q = qkv[..a.HiddenSize];
                var k = qkv[a.HiddenSize..(2 * a.HiddenSize)];
                var v = qkv[(2 * a.HiddenSize)..];
                var position = start + t;
                var logn = a.UseLognAttn ? ReferenceMath.LognScale(position, a.SeqLength) : 1.0;
                for (var h = 0; h < a.NumHeads; h++)
                {
                    ReferenceMath.ApplyRope(q.AsSpan(h * a.HeadDim, a.HeadDim), position, rotaryBase);
                    ReferenceMath.ApplyRope(k.AsSpan(h * a.HeadDim, a.HeadDim), position, rotaryBase);
                }
                for (var j = 0; j < q.Length; j++)
                {
                    q[j] *= logn;
                }
                queries[t] = q;
                _keys[layer].Add(k);
                _values[layer].Add(v);
            }
            for (var t = 0; t < ids.Count; t++)
            {
                var attention = Attend(queries[t], _keys[layer], _values[layer], start + t);
                var projected = ReferenceMath.Linear(w.AttnOut, a.HiddenSize, a.HiddenSize, attention);
                Add(hidden[t], projected);
                var normed = ReferenceMath.RmsNorm(hidden[t], w.Ln2, a.RmsNormEps);
                Add(hidden[t], ReferenceMath.SwiGlu(normed, w.W1, w.W2, w.MlpOut, a.HiddenSize, a.IntermediateSize));
            }
        }
        Length += ids.Count;
        return hidden;
    }

    /// <summary>Causal softmax attention of one query (all heads) over keys 0…position, scaled by 1/√headDim.</summary>
    private double[] Attend(double[] query, List<double[]> keys, List<double[]> values, int position)
    {
        var a = _model.Architecture;
        var output = new double[a.HiddenSize];
        var scores = new double[position + 1];
        var scale = 1.0 / Math.Sqrt(a.HeadDim);
        for (var h = 0; h < a.NumHeads; h++)
        {
            var offset = h * a.HeadDim;
            var max = double.NegativeInfinity;
            for (var j = 0; j <= position; j++)
            {
                var dot = 0.0;
                for (var d = 0; d < a.HeadDim; d++)
                {
                    dot += query[offset + d] * keys[j][offset + d];
                }
                scores[j] = dot * scale;
                max = Math.Max(max, scores[j]);
            }
            var sum = 0.0;
            for (var j = 0; j <= position; j++)
            {
                scores[j] = Math.Exp(scores[j] - max);
                sum += scores[j];
            }
            for (var j = 0; j <= position; j++)
            {
                var weight = scores[j] / sum;
                for (var d = 0; d < a.HeadDim; d++)
                {
                    output[offset + d] += weight * values[j][offset + d];
                }
            }
        }
        return output;
    }

    private static void Add(double[] target, double[] delta)
    {
        for (var i = 0; i < target.Length; i++)
        {
            target[i] += delta[i];
        }
    }
}
