using Qwen.Inference.Packaging;
using Qwen.ModelPrep.Onnx;
using Qwen.ModelPrep.Onnx.Proto;
using static Qwen.ModelPrep.Onnx.OnnxGraphBuilder;
using DataType = Qwen.ModelPrep.Onnx.Proto.TensorProto.Types.DataType;

namespace Qwen.ModelPrep.Conversion;

/// <summary>Emits the Qwen decoder graph over already-written weights: the native graph of docs/package-format.md, or the ONNX Runtime GenAI variant.</summary>
/// <remarks>
/// Rotary and LogN, native graph: the fused QKV output is viewed as [B, S, 3, H, D] and rotated in one pass with
/// per-part tables [B, S, 3, 1, D/2]: (cos·λ, sin·λ) for q, (cos, sin) for k and (1, 0) for v. That is
/// rotate-half on q and k, LogN λ on q only, v untouched (x·1 − y·0 is exact), and the packed result goes
/// straight into GroupQueryAttention. The tables are built once per call and shared by all layers.
/// GenAI graph: GroupQueryAttention rotates (do_rotary=1) with fixed α = 1 caches; seqlens_k and
/// total_sequence_length come from attention_mask the way GenAI's own model builder derives them.
/// KV cache narrower than the activations (--kv-dtype fp16 on an fp32 graph): GroupQueryAttention's q/k/v, past/present
/// and cos/sin caches share one type, so the packed QKV is cast to float16 going in and the attention output back out.
/// </remarks>
internal sealed class QwenGraphBuilder
{
    private readonly ModelArchitecture _arch;
    private readonly QwenWeights _weights;
    private readonly ConvertOptions _options;
    private readonly DataType _act;
    private readonly DataType _kv;
    private readonly GraphIo _io;
    private readonly int _maxContext;
    private OnnxGraphBuilder _g = null!;

    public QwenGraphBuilder(ModelArchitecture arch, QwenWeights weights, ConvertOptions options, GraphIo io, int maxContext)
    {
        _arch = arch;
        _weights = weights;
        _options = options;
        _io = io;
        _maxContext = maxContext;
        _act = QwenWeightWriter.ActivationType(options);
        _kv = options.EffectiveKvDtype == KvCacheDtype.Fp16 ? DataType.Float16 : DataType.Float;
    }

    private int H => _arch.NumHeads;
    private int D => _arch.HeadDim;
    private int Hidden => _arch.HiddenSize;

    /// <summary>The graph of docs/package-format.md ("Native graph I/O").</summary>
    public ModelProto BuildNative()
    {
        _g = new OnnxGraphBuilder("qwen");
        var inputIds = _g.Input(_io.InputIds, DataType.Int64, "batch", "seq");
        var ropeCos = _g.Input(_io.RopeCos, DataType.Float, "batch", "seq", (long)(D / 2));
        var ropeSin = _g.Input(_io.RopeSin, DataType.Float, "batch", "seq", (long)(D / 2));
        var logn = _g.Input(_io.LognScale, DataType.Float, "batch", "seq");
        var seqlensK = _g.Input(_io.SeqLensK, DataType.Int32, "batch");
        var totalSeq = _g.Input(_io.TotalSequenceLength, DataType.Int32);
        var logitsIndices = _g.Input(_io.LogitsIndices, DataType.Int64, "n");
        AddKvInputsOutputs("max_seq", "max_seq");

        var (cosTable, sinTable) = RotaryTables(ropeCos, ropeSin, logn);
        var finalHidden = Decoder(inputIds, layer => NativeAttention(layer, cosTable, sinTable, seqlensK, totalSeq));

        // Only the requested positions reach lm_head: [B, S, hidden] → [B·S, hidden] → gather rows.
        var flat = _g.Node("Reshape", [finalHidden, _g.ConstInt64Vector(-1, Hidden)]);
        var picked = _g.Node("Gather", [flat, logitsIndices], attributes: Attr("axis", 0L));
        LmHead(picked, _io.Logits);
        _g.Output(_io.Logits, DataType.Float, "n", (long)_arch.VocabSize);
        return _g.ToModel(ProducerVersion, Metadata("native"));
    }

    /// <summary>The ONNX Runtime GenAI graph (genai/): attention_mask in, logits for every position out.</summary>
    public ModelProto BuildGenAi()
    {
        _g = new OnnxGraphBuilder("qwen_genai");
        var inputIds = _g.Input("input_ids", DataType.Int64, "batch", "seq");
        var mask = _g.Input("attention_mask", DataType.Int64, "batch", "total_seq");
        AddKvInputsOutputs("past_seq", "total_seq");

        // seqlens_k = Σ mask − 1 per row; total_sequence_length = mask width (GenAI's builder does the same).
        var sum = _g.Node("ReduceSum", [mask, _g.ConstInt64Vector(1)], attributes: Attr("keepdims", 0L));
        var minus = _g.Node("Sub", [sum, _g.ConstInt64(1)]);
        var seqlensK = _g.Node("Cast", [minus], attributes: Attr("to", (long)DataType.Int32));
        var shape = _g.Node("Shape", [mask]);
        var width = _g.Node("Gather", [shape, _g.ConstInt64(1)], attributes: Attr("axis", 0L));
        var totalSeq = _g.Node("Cast", [width], attributes: Attr("to", (long)DataType.Int32));

        var (cosCache, sinCache) = FixedRotaryCaches();
        var finalHidden = Decoder(inputIds, layer => GenAiAttention(layer, cosCache, sinCache, seqlensK, totalSeq));
        LmHead(finalHidden, "logits");
        _g.Output("logits", DataType.Float, "batch", "seq", (long)_arch.VocabSize);
        return _g.ToModel(ProducerVersion, Metadata("genai"));
    }

    private static string ProducerVersion => typeof(QwenGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0";

    private Dictionary<string, string> Metadata(string flavor) => new()
    {
        ["qwen.graph"] = flavor,
        ["qwen.dtype"] = _options.Dtype.ToString().ToLowerInvariant(),
        ["qwen.target"] = _options.Target.ToString().ToLowerInvariant(),
    };

    private void AddKvInputsOutputs(string pastDim, string presentDim)
    {
        for (var i = 0; i < _arch.NumLayers; i++)
        {
            _g.Input(string.Format(_io.PastKey, i), _kv, "batch", (long)H, pastDim, (long)D);
            _g.Input(string.Format(_io.PastValue, i), _kv, "batch", (long)H, pastDim, (long)D);
        }
        for (var i = 0; i < _arch.NumLayers; i++)
        {
            _g.Output(string.Format(_io.PresentKey, i), _kv, "batch", (long)H, presentDim, (long)D);
            _g.Output(string.Format(_io.PresentValue, i), _kv, "batch", (long)H, presentDim, (long)D);
        }
    }

    /// <summary>Embedding, all blocks and the final RMSNorm; returns the normalized hidden states [B, S, hidden].</summary>
    private string Decoder(string inputIds, Func<int, Func<string, string>> attentionOf)
    {
        var emb = _g.Node("Gather", [_g.Initializer(_weights.Embedding), inputIds], attributes: Attr("axis", 0L));
        if (_weights.EmbeddingType != _act)
        {
            emb = _g.Node("Cast", [emb], attributes: Attr("to", (long)_act));
        }
        var eps = Attr("epsilon", (float)_arch.RmsNormEps);
        var normed = _g.Node("SimplifiedLayerNormalization", [emb, _g.Initializer(_weights.Layers[0].Norm1)],
            attributes: [Attr("axis", -1L), eps]);
        var residual = emb;
        for (var i = 0; i < _arch.NumLayers; i++)
        {
            var w = _weights.Layers[i];
            var attn = attentionOf(i)(normed);
            var (norm2, sum1) = SkipNorm(attn, residual, w.Norm2, eps);

            var a1 = Linear(norm2, w.W1);
            var a2 = Linear(norm2, w.W2);
            var silu = _g.Node("Mul", [a2, _g.Node("Sigmoid", [a2])]);
            var mlp = Linear(_g.Node("Mul", [a1, silu]), w.MlpOut);

            var nextGain = i + 1 < _arch.NumLayers ? _weights.Layers[i + 1].Norm1 : _weights.FinalNorm;
            (normed, residual) = SkipNorm(mlp, sum1, nextGain, eps);
        }
        return normed;
    }

    private (string Normed, string Sum) SkipNorm(string input, string skip, TensorProto gain, AttributeProto eps)
    {
        var normed = _g.NewName("norm");
        var sum = _g.NewName("residual");
        _g.NodeMulti("SkipSimplifiedLayerNormalization", [input, skip, _g.Initializer(gain)],
            [normed, "", "", sum], MicrosoftDomain, eps);
        return (normed, sum);
    }

    /// <summary>Per-part rotary tables [B, S, 3, 1, D/2] for the packed QKV view (see remarks).</summary>
    private (string Cos, string Sin) RotaryTables(string ropeCos, string ropeSin, string logn)
    {
        var cos = ropeCos;
        var sin = ropeSin;
        var lambda = logn;
        if (_act != DataType.Float)
        {
            cos = _g.Node("Cast", [cos], attributes: Attr("to", (long)_act));
            sin = _g.Node("Cast", [sin], attributes: Attr("to", (long)_act));
            lambda = _g.Node("Cast", [lambda], attributes: Attr("to", (long)_act));
        }
        var lam = _g.Node("Unsqueeze", [lambda, _g.ConstInt64Vector(2)]);           // [B, S, 1]
        var cosQ = _g.Node("Mul", [cos, lam]);
        var sinQ = _g.Node("Mul", [sin, lam]);
        var shape = _g.Node("Shape", [cos]);
        var ones = _g.Node("Expand", [_g.ConstScalar(1f, _act), shape]);
        var zeros = _g.Node("Expand", [_g.ConstScalar(0f, _act), shape]);
        var axes = _g.ConstInt64Vector(2, 3);
        string Stack(string q, string k, string v) => _g.Node("Concat",
            [_g.Node("Unsqueeze", [q, axes]), _g.Node("Unsqueeze", [k, axes]), _g.Node("Unsqueeze", [v, axes])],
            attributes: Attr("axis", 2L));
        return (Stack(cosQ, cos, ones), Stack(sinQ, sin, zeros));
    }

    private Func<string, string> NativeAttention(int layer, string cosTable, string sinTable, string seqlensK, string totalSeq) => normed =>
    {
        var w = _weights.Layers[layer];
        var qkv = _g.Node("Add", [Linear(normed, w.Qkv), _g.Initializer(w.QkvBias)]);   // [B, S, 3·hidden]
        var view = _g.Node("Reshape", [qkv, _g.ConstInt64Vector(0, 0, 3, H, D)]);       // [B, S, 3, H, D]
        var half1 = _g.NewName("rot_a");
        var half2 = _g.NewName("rot_b");
        _g.NodeMulti("Split", [view], [half1, half2], attributes: [Attr("axis", -1L), Attr("num_outputs", 2L)]);
        var out1 = _g.Node("Sub", [_g.Node("Mul", [half1, cosTable]), _g.Node("Mul", [half2, sinTable])]);
        var out2 = _g.Node("Add", [_g.Node("Mul", [half2, cosTable]), _g.Node("Mul", [half1, sinTable])]);
        var rotated = _g.Node("Concat", [out1, out2], attributes: Attr("axis", -1L));
        var packed = _g.Node("Reshape", [rotated, _g.ConstInt64Vector(0, 0, 3 * Hidden)]);
        var attn = Gqa(layer, packed, seqlensK, totalSeq, null, null);
        return Linear(attn, w.AttnOut);
    };

    private Func<string, string> GenAiAttention(int layer, string cosCache, string sinCache, string seqlensK, string totalSeq) => normed =>
    {
        var w = _weights.Layers[layer];
        var qkv = _g.Node("Add", [Linear(normed, w.Qkv), _g.Initializer(w.QkvBias)]);
        var attn = Gqa(layer, qkv, seqlensK, totalSeq, cosCache, sinCache);
        return Linear(attn, w.AttnOut);
    };

    private string Gqa(int layer, string packedQkv, string seqlensK, string totalSeq, string? cosCache, string? sinCache)
    {
        if (_kv != _act)
        {
            packedQkv = _g.Node("Cast", [packedQkv], attributes: Attr("to", (long)_kv));
        }
        var output = _g.NewName("attn");
        var inputs = new List<string>
        {
            packedQkv, "", "",
            string.Format(_io.PastKey, layer), string.Format(_io.PastValue, layer),
            seqlensK, totalSeq,
        };
        if (cosCache is not null && sinCache is not null)
        {
            inputs.Add(cosCache);
            inputs.Add(sinCache);
        }
        _g.NodeMulti("GroupQueryAttention", inputs,
            [output, string.Format(_io.PresentKey, layer), string.Format(_io.PresentValue, layer)],
            MicrosoftDomain,
            Attr("num_heads", (long)H), Attr("kv_num_heads", (long)H), Attr("scale", 1f / MathF.Sqrt(D)),
            Attr("do_rotary", cosCache is null ? 0L : 1L), Attr("rotary_interleaved", 0L));
        return _kv == _act ? output : _g.Node("Cast", [output], attributes: Attr("to", (long)_act));
    }

    /// <summary>cos/sin of p·θᵢ for p &lt; maxContext at α = 1 (base = rotary_emb_base), as GenAI's GQA expects.</summary>
    private (string Cos, string Sin) FixedRotaryCaches()
    {
        var half = D / 2;
        var cos = new float[_maxContext * half];
        var sin = new float[_maxContext * half];
        for (var i = 0; i < half; i++)
        {
            var invFreq = (float)Math.Pow(_arch.RotaryBase, -2.0 * i / D);
            for (var p = 0; p < _maxContext; p++)
            {
                var angle = (float)p * invFreq;
                cos[p * half + i] = MathF.Cos(angle);
                sin[p * half + i] = MathF.Sin(angle);
            }
        }
        var c = _g.Initializer(InlineFloats("cos_cache", _kv, [_maxContext, half], cos));
        var s = _g.Initializer(InlineFloats("sin_cache", _kv, [_maxContext, half], sin));
        return (c, s);
    }

    private void LmHead(string hidden, string outputName)
    {
        var logits = Linear(hidden, _weights.LmHead, _act == DataType.Float ? outputName : null);
        if (_act != DataType.Float)
        {
            _g.Node("Cast", [logits], outputName, attributes: Attr("to", (long)DataType.Float));
        }
    }

    private string Linear(string x, LinearWeights w, string? output = null)
    {
        if (w.Bits == 0)
        {
            var weight = _g.Initializer(w.Weight);
            if (w.WeightType != _act)
            {
                // Constant input: ONNX Runtime folds this Cast once at session creation.
                weight = _g.Node("Cast", [weight], attributes: Attr("to", (long)_act));
            }
            return _g.Node("MatMul", [x, weight], output);
        }
        var inputs = new List<string> { x, _g.Initializer(w.Weight), _g.Initializer(w.Scales!) };
        if (w.ZeroPoints is not null)
        {
            inputs.Add(_g.Initializer(w.ZeroPoints));
        }
        return _g.Node("MatMulNBits", inputs, output, MicrosoftDomain,
            Attr("K", (long)w.InFeatures), Attr("N", (long)w.OutFeatures), Attr("bits", (long)w.Bits),
            Attr("block_size", (long)w.BlockSize), Attr("accuracy_level", (long)_options.EffectiveAccuracyLevel));
    }
}
