using Qwen.Testing;
using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Conversion;

namespace Qwen.ModelPrep.Tests.Conversion;

public sealed class FakeParityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-graph-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<string> ConvertAsync(FakeCheckpointReader reader, ModelDtype dtype)
        => ConvertAsync(reader, o => o with { Dtype = dtype });

    private async Task<string> ConvertAsync(ICheckpointReader reader, Func<ConvertOptions, ConvertOptions> configure)
    {
        var input = Path.Combine(_dir, "ckpt");
        Directory.CreateDirectory(input);
        File.WriteAllText(Path.Combine(input, "qwen.tiktoken"), "IQ== 0\n");
        var options = configure(new ConvertOptions { Input = input, Output = Path.Combine(_dir, "pkg-" + Guid.NewGuid().ToString("N")) });
        await new PackageConverter(_ => reader).ConvertAsync(options);
        return options.Output;
    }

    [Theory]
    [InlineData(ModelDtype.Fp32, 10, 1e-4)]
    [InlineData(ModelDtype.Fp32, 40, 1e-4)]
    [InlineData(ModelDtype.Fp16, 40, 1e-2)]
    public async Task FakeCheckpoint_PrefillAndDecode_MatchesReference(ModelDtype dtype, int promptLength, double tolerance)
    {
        var reader = FakeCheckpointReader.Create(FakeCheckpointReader.Architecture());
        var package = await ConvertAsync(reader, dtype);
        var rng = new Random(7);
        var tokens = Enumerable.Range(0, promptLength + 5).Select(_ => (long)rng.Next(reader.Config.Architecture.VocabSize)).ToArray();
        var expected = DebugReference.Logits(reader, tokens, promptLength);

        using var runner = new PackageRunner(package, maxSeq: 64);
        var vocab = reader.Config.Architecture.VocabSize;
        var actual = new List<float[]>();
        var prefill = runner.Forward(tokens[..promptLength]);
        for (var t = 0; t < promptLength; t++) actual.Add(prefill.AsSpan(t * vocab, vocab).ToArray());
        for (var t = promptLength; t < tokens.Length; t++) actual.Add(runner.Forward([tokens[t]]));

        for (var t = 0; t < tokens.Length; t++)
        {
            var err = RelativeL2(actual[t], expected[t]);
            Assert.True(err < tolerance, $"position {t}: relative L2 {err:E3} ≥ {tolerance:E0}");
        }
    }

    [Theory]
    [InlineData(32, false, 8, 0)]
    [InlineData(64, true, 4, 0)]
    [InlineData(128, false, 16, 0)]
    [InlineData(32, false, 8, 4)]
    public async Task FakeCheckpoint_Int4_MatchesDequantizedReference(int blockSize, bool asymmetric, int lmHeadBits, int accuracyLevel)
    {
        var arch = FakeCheckpointReader.Architecture(hidden: 128, heads: 4, inter: 256);
        var reader = FakeCheckpointReader.Create(arch);
        ConvertOptions Configure(ConvertOptions o) => o with
        {
            Dtype = ModelDtype.Int4, BlockSize = blockSize, Asymmetric = asymmetric, LmHeadBits = lmHeadBits, AccuracyLevel = accuracyLevel,
        };
        var package = await ConvertAsync(reader, Configure);
        var dequantized = new DequantizedCheckpointReader(reader, Configure(new ConvertOptions { Input = "", Output = "" }));
        var rng = new Random(3);
        var tokens = Enumerable.Range(0, 24).Select(_ => (long)rng.Next(arch.VocabSize)).ToArray();
        var expected = DebugReference.Logits(dequantized, tokens, tokens.Length);
        using var runner = new PackageRunner(package, maxSeq: 64);
        var logits = runner.Forward(tokens);
        // accuracy_level 0 computes in float32 over the same dequantized weights; level 4 also rounds activations to int8.
        var tolerance = accuracyLevel == 0 ? 1e-4 : 3e-2;
        for (var t = 0; t < tokens.Length; t++)
        {
            var err = RelativeL2(logits.AsSpan(t * arch.VocabSize, arch.VocabSize).ToArray(), expected[t]);
            Assert.True(err < tolerance, $"position {t}: relative L2 {err:E3} ≥ {tolerance:E0}");
        }
    }

    internal static double RelativeL2(float[] actual, double[] expected)
    {
        double num = 0, den = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            num += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            den += expected[i] * expected[i];
        }
        return Math.Sqrt(num / den);
    }
}
