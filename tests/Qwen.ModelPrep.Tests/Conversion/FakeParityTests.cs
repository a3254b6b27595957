using Qwen.ModelPrep.Conversion;

namespace Qwen.ModelPrep.Tests.Conversion;

public sealed class FakeParityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-graph-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> ConvertAsync(FakeCheckpointReader reader, ModelDtype dtype)
    {
        var input = Path.Combine(_dir, "ckpt");
        Directory.CreateDirectory(input);
        File.WriteAllText(Path.Combine(input, "qwen.tiktoken"), "IQ== 0\n");
        var output = Path.Combine(_dir, "pkg-" + dtype);
        await new PackageConverter(_ => reader).ConvertAsync(new ConvertOptions { Input = input, Output = output, Dtype = dtype });
        return output;
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
