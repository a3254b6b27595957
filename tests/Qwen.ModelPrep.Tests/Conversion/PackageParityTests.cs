using Qwen.ModelPrep.Conversion;
using Qwen.Testing;
using Qwen.Testing.Reference;
using Xunit.Abstractions;

namespace Qwen.ModelPrep.Tests.Conversion;

/// <summary>Packages converted from the shared tiny checkpoints vs the float64 <see cref="ReferenceModel"/>.</summary>
/// <remarks>The tiny checkpoints have S = 64, so a 100-token prompt runs with α = 3 and LogN active.</remarks>
public sealed class PackageParityTests(ITestOutputHelper output)
{
    private const int DecodeSteps = 20;

    public static TheoryData<TestCheckpoint, int> Fp32Cases => new()
    {
        { TestCheckpoint.TinyV11, 24 },
        { TestCheckpoint.TinyV11, 100 },
        { TestCheckpoint.TinyV10Sharded, 24 },
        { TestCheckpoint.TinyV10Sharded, 100 },
    };

    [Theory]
    [MemberData(nameof(Fp32Cases))]
    public async Task Fp32Package_PrefillThenDecode_MatchesReferenceWithin1e4(TestCheckpoint checkpoint, int promptLength)
    {
        var worst = await CompareAsync(checkpoint, ModelDtype.Fp32, promptLength, 1e-4);
        output.WriteLine($"fp32 {checkpoint} prompt {promptLength}: worst relative L2 {worst:E2}");
    }

    [Theory]
    [InlineData(24)]
    [InlineData(100)]
    public async Task Fp16Package_PrefillThenDecode_MatchesReferenceWithin1e2(int promptLength)
    {
        var worst = await CompareAsync(TestCheckpoint.TinyV11, ModelDtype.Fp16, promptLength, 1e-2);
        output.WriteLine($"fp16 prompt {promptLength}: worst relative L2 {worst:E2}");
    }

    private static async Task<double> CompareAsync(TestCheckpoint checkpoint, ModelDtype dtype, int promptLength, double tolerance)
    {
        var package = await TestPackages.GetAsync(checkpoint, dtype);
        using var reference = ReferenceModel.Load(await TestModels.GetCheckpointAsync(checkpoint));
        var vocab = reference.Architecture.VocabSize;
        var rng = new Random(promptLength);
        var prompt = Enumerable.Range(0, promptLength).Select(_ => rng.Next(151643)).ToArray();

        var sequence = reference.StartSequence();
        using var runner = new PackageRunner(package, maxSeq: 160);
        // lm_head is the reference's expensive part: compare the prompt's last position, then every decode step.
        var want = sequence.ForwardLast(prompt);
        var logits = runner.Forward(prompt.Select(t => (long)t).ToArray());
        Assert.Equal(PackageRunner.NtkAlpha(promptLength, reference.Architecture.SeqLength, true), sequence.Alpha!.Value);
        var worst = Check(logits.AsSpan((promptLength - 1) * vocab, vocab).ToArray(), want, tolerance, "prefill (last position)");
        // Decode: feed the reference's own greedy choice to both, so the two caches hold the same tokens.
        for (var step = 0; step < DecodeSteps; step++)
        {
            var next = ReferenceModel.ArgMax(want);
            want = sequence.ForwardLast([next]);
            var got = runner.Forward([next]);
            worst = Math.Max(worst, Check(got, want, tolerance, $"decode step {step} (position {promptLength + step})"));
        }
        return worst;
    }

    private static double Check(float[] actual, double[] expected, double tolerance, string where)
    {
        var err = FakeParityTests.RelativeL2(actual, expected);
        Assert.True(err < tolerance, $"{where}: relative L2 {err:E3} ≥ {tolerance:E0}");
        return err;
    }
}
