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
    private static readonly Lazy<Task<string>> FullVocabularyLong = new(() => ConvertAsync(Architecture with { VocabSize = 151936, MaxContext = 256 }));

    /// <summary>Directory of the fp32 package (vocabulary 320).</summary>
    public static Task<string> Fp32Async() => Fp32.Value;

    /// <summary>The same model with Qwen's full 151,936-row vocabulary, so ChatML special tokens are valid ids.</summary>
    public static Task<string> FullVocabularyAsync() => FullVocabulary.Value;

    /// <summary>The full-vocabulary model with a 256-token context, for outputs longer than 64 tokens (constrained JSON with whitespace).</summary>
    public static Task<string> FullVocabularyLongAsync() => FullVocabularyLong.Value;

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
        // QKV spread 0.8 (the converter tests use 0.6) keeps greedy outputs varied; eos stays valid in a small vocabulary.
        using var reader = FakeCheckpointReader.Create(architecture, seed: 4, qkvScale: 0.8, eosTokenId: Math.Min(architecture.VocabSize - 1, 151643));
        await new PackageConverter(_ => reader).ConvertAsync(new ConvertOptions { Input = input, Output = output, Dtype = ModelDtype.Fp32, Name = "tiny-sched" });
        return output;
    }
}
