using Qwen.Inference.Packaging;
using Qwen.ModelPrep;
using Qwen.ModelPrep.Checkpoints;

namespace Qwen.Testing;

/// <summary>An in-memory checkpoint with seeded random weights (small enough to build in milliseconds).</summary>
public sealed class FakeCheckpointReader : ICheckpointReader
{
    private readonly Dictionary<string, (long[] Shape, float[] Data)> _tensors;

    /// <summary>Wraps the given tensors.</summary>
    public FakeCheckpointReader(CheckpointConfig config, Dictionary<string, (long[] Shape, float[] Data)> tensors)
    {
        Config = config;
        _tensors = tensors;
    }

    public CheckpointConfig Config { get; }

    public IReadOnlyCollection<string> TensorNames => _tensors.Keys;

    public bool Disposed { get; private set; }

    public static ModelArchitecture Architecture(int hidden = 64, int heads = 4, int layers = 2, int inter = 96, int vocab = 320, int seqLength = 16, int maxContext = 64) => new()
    {
        HiddenSize = hidden,
        NumHeads = heads,
        HeadDim = hidden / heads,
        NumLayers = layers,
        IntermediateSize = inter,
        VocabSize = vocab,
        SeqLength = seqLength,
        RotaryBase = 10000,
        RmsNormEps = 1e-6,
        UseDynamicNtk = true,
        UseLognAttn = true,
        ConfigStyle = "v1.1",
        MaxContext = maxContext,
    };

    /// <summary>Seeded normal weights scaled like a trained model's; <paramref name="qkvScale"/> sets the QKV weight spread (× 1/√hidden).</summary>
    /// <param name="arch">Shapes of the checkpoint.</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="qkvScale">Spread of the fused QKV weights, times 1/√hidden.</param>
    /// <param name="eosTokenId">Defaults to the last vocabulary id: the real eos (151643) does not exist in a small vocabulary and ONNX Runtime GenAI checks it.</param>
    public static FakeCheckpointReader Create(ModelArchitecture arch, int seed = 1, double qkvScale = 0.6, int? eosTokenId = null)
    {
        var rng = new Random(seed);
        var t = new Dictionary<string, (long[], float[])>();
        void Add(string name, long[] shape, double std, double mean = 0)
        {
            var n = shape.Aggregate(1L, (a, b) => a * b);
            var data = new float[n];
            for (var i = 0; i < n; i++)
            {
                // Box-Muller normal.
                var u1 = 1.0 - rng.NextDouble();
                var u2 = rng.NextDouble();
                data[i] = (float)(mean + std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            }
            t[name] = (shape, data);
        }
        int h = arch.HiddenSize, f = arch.IntermediateSize, v = arch.VocabSize;
        Add("transformer.wte.weight", [v, h], 1.0);
        for (var i = 0; i < arch.NumLayers; i++)
        {
            var p = $"transformer.h.{i}.";
            Add(p + "ln_1.weight", [h], 0.1, 1.0);
            Add(p + "attn.c_attn.weight", [3 * h, h], qkvScale / Math.Sqrt(h));
            Add(p + "attn.c_attn.bias", [3 * h], 0.1);
            Add(p + "attn.c_proj.weight", [h, h], 0.5 / Math.Sqrt(h));
            Add(p + "ln_2.weight", [h], 0.1, 1.0);
            Add(p + "mlp.w1.weight", [f, h], 1.0 / Math.Sqrt(h));
            Add(p + "mlp.w2.weight", [f, h], 1.0 / Math.Sqrt(h));
            Add(p + "mlp.c_proj.weight", [h, f], 0.5 / Math.Sqrt(f));
        }
        Add("transformer.ln_f.weight", [h], 0.1, 1.0);
        Add("lm_head.weight", [v, h], 2.0 / Math.Sqrt(h));
        return new FakeCheckpointReader(new CheckpointConfig(arch, new GenerationDefaults { EosTokenId = eosTokenId ?? v - 1 }), t);
    }

    public CheckpointTensorInfo GetInfo(string name)
        => _tensors.TryGetValue(name, out var t)
            ? new CheckpointTensorInfo(name, "F32", t.Shape)
            : throw new ModelPrepException($"tensor {name} is missing from the fake checkpoint");

    public void ReadRows(string name, long rowStart, int rows, Span<float> destination)
    {
        var info = GetInfo(name);
        var cols = (int)info.Columns;
        _tensors[name].Data.AsSpan((int)(rowStart * cols), rows * cols).CopyTo(destination);
    }

    /// <summary>The whole tensor (row-major), for references.</summary>
    public float[] Get(string name) => _tensors[name].Data;

    public void Dispose() => Disposed = true;
}
