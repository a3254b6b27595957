using Qwen.Inference.Packaging;
using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Conversion;
using Qwen.Testing;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>
/// A seeded random Qwen checkpoint small enough to convert in well under a second (hidden 64, 4 heads × 16, 2 layers,
/// vocabulary 320, seq_length 16, context 64), converted once per test process with the real converter, so prompts
/// above 16 tokens run with dynamic NTK α &gt; 1 and LogN.
/// </summary>
internal static class TinyPackage
{
    private static readonly Lazy<Task<string>> Fp32 = new(() => ConvertAsync(Architecture));
    private static readonly Lazy<Task<string>> FullVocabulary = new(() => ConvertAsync(Architecture with { VocabSize = 151936 }));

    /// <summary>Directory of the fp32 package (vocabulary 320).</summary>
    public static Task<string> Fp32Async() => Fp32.Value;

    /// <summary>The same model with Qwen's full 151,936-row vocabulary, so ChatML special tokens are valid ids.</summary>
    public static Task<string> FullVocabularyAsync() => FullVocabulary.Value;

    public static ModelArchitecture Architecture => new()
    {
        HiddenSize = 64,
        NumHeads = 4,
        HeadDim = 16,
        NumLayers = 2,
        IntermediateSize = 96,
        VocabSize = 320,
        SeqLength = 16,
        RotaryBase = 10000,
        RmsNormEps = 1e-6,
        UseDynamicNtk = true,
        UseLognAttn = true,
        ConfigStyle = "v1.1",
        MaxContext = 64,
    };

    private static async Task<string> ConvertAsync(ModelArchitecture architecture)
    {
        var root = Directory.CreateTempSubdirectory("qwen-sched-").FullName;
        var input = Path.Combine(root, "checkpoint");
        Directory.CreateDirectory(input);
        File.Copy(RepoPaths.Tiktoken, Path.Combine(input, "qwen.tiktoken"));
        var output = Path.Combine(root, "package");
        using var reader = new Reader(architecture, seed: 4);
        await new PackageConverter(_ => reader).ConvertAsync(new ConvertOptions { Input = input, Output = output, Dtype = ModelDtype.Fp32, Name = "tiny-sched" });
        return output;
    }

    /// <summary>In-memory checkpoint with normal weights scaled like a trained model's (so greedy outputs vary).</summary>
    private sealed class Reader : ICheckpointReader
    {
        private readonly Dictionary<string, (long[] Shape, float[] Data)> _tensors = [];

        public Reader(ModelArchitecture arch, int seed)
        {
            var random = new Random(seed);
            void Add(string name, long[] shape, double std, double mean = 0)
            {
                var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
                for (var i = 0; i < data.Length; i++)
                {
                    var u1 = 1.0 - random.NextDouble();
                    var u2 = random.NextDouble();
                    data[i] = (float)(mean + std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
                }
                _tensors[name] = (shape, data);
            }
            int h = arch.HiddenSize, f = arch.IntermediateSize, v = arch.VocabSize;
            Add("transformer.wte.weight", [v, h], 1.0);
            for (var i = 0; i < arch.NumLayers; i++)
            {
                var p = $"transformer.h.{i}.";
                Add(p + "ln_1.weight", [h], 0.1, 1.0);
                Add(p + "attn.c_attn.weight", [3 * h, h], 0.8 / Math.Sqrt(h));
                Add(p + "attn.c_attn.bias", [3 * h], 0.1);
                Add(p + "attn.c_proj.weight", [h, h], 0.5 / Math.Sqrt(h));
                Add(p + "ln_2.weight", [h], 0.1, 1.0);
                Add(p + "mlp.w1.weight", [f, h], 1.0 / Math.Sqrt(h));
                Add(p + "mlp.w2.weight", [f, h], 1.0 / Math.Sqrt(h));
                Add(p + "mlp.c_proj.weight", [h, f], 0.5 / Math.Sqrt(f));
            }
            Add("transformer.ln_f.weight", [h], 0.1, 1.0);
            Add("lm_head.weight", [v, h], 2.0 / Math.Sqrt(h));
            Config = new CheckpointConfig(arch, new GenerationDefaults { EosTokenId = Math.Min(v - 1, 151643) });
        }

        public CheckpointConfig Config { get; }

        public IReadOnlyCollection<string> TensorNames => _tensors.Keys;

        public CheckpointTensorInfo GetInfo(string name) => new(name, "F32", _tensors[name].Shape);

        public void ReadRows(string name, long rowStart, int rows, Span<float> destination)
        {
            var columns = (int)GetInfo(name).Columns;
            _tensors[name].Data.AsSpan((int)(rowStart * columns), rows * columns).CopyTo(destination);
        }

        public void Dispose()
        {
        }
    }
}
