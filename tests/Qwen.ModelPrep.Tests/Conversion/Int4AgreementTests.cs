using Qwen.ModelPrep.Conversion;
using Qwen.Testing;
using Qwen.Testing.Reference;
using Xunit.Abstractions;

namespace Qwen.ModelPrep.Tests.Conversion;

/// <summary>int4 packages vs the float64 reference: top-1 agreement on a fixed corpus (teacher forcing).</summary>
public sealed class Int4AgreementTests(ITestOutputHelper output)
{
    public static TheoryData<string, int, bool, int, int> Variants => new()
    {
        { "default", 32, false, 8, 4 },
        { "b128-asym-lm4-acc0", 128, true, 4, 0 },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Int4Package_FixedCorpus_AgreesWithReferenceOnTop1(string variant, int blockSize, bool asymmetric, int lmHeadBits, int accuracyLevel)
    {
        ConvertOptions Configure(ConvertOptions o) => o with
        {
            BlockSize = blockSize, Asymmetric = asymmetric, LmHeadBits = lmHeadBits, AccuracyLevel = accuracyLevel,
        };
        var package = await TestPackages.GetAsync(TestCheckpoint.TinyV11, ModelDtype.Int4, Configure, variant);
        var dequantizedDir = await DequantizedCheckpoint.GetAsync(TestCheckpoint.TinyV11,
            Configure(new ConvertOptions { Input = "", Output = "", Dtype = ModelDtype.Int4 }), variant);
        using var reference = ReferenceModel.Load(await TestModels.GetCheckpointAsync(TestCheckpoint.TinyV11));
        using var dequantized = ReferenceModel.Load(dequantizedDir);
        var vocab = reference.Architecture.VocabSize;

        int positions = 0, agreeReference = 0, agreeDequantized = 0;
        var worstDequantized = 0.0;
        var rng = new Random(2023);
        for (var s = 0; s < 2; s++)
        {
            var tokens = Enumerable.Range(0, 32).Select(_ => rng.Next(151643)).ToArray();
            using var runner = new PackageRunner(package, maxSeq: 64);
            var logits = runner.Forward(tokens.Select(t => (long)t).ToArray());
            var want = reference.StartSequence().Forward(tokens);
            var wantDq = dequantized.StartSequence().Forward(tokens);
            for (var t = 0; t < tokens.Length; t++)
            {
                var row = logits.AsSpan(t * vocab, vocab);
                var top = row.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(row));
                positions++;
                agreeReference += top == ReferenceModel.ArgMax(want[t]) ? 1 : 0;
                agreeDequantized += top == ReferenceModel.ArgMax(wantDq[t]) ? 1 : 0;
                worstDequantized = Math.Max(worstDequantized, FakeParityTests.RelativeL2(row.ToArray(), wantDq[t]));
            }
        }
        output.WriteLine($"int4 {variant}: top-1 agreement vs reference {agreeReference}/{positions}, vs dequantized reference {agreeDequantized}/{positions}; worst relative L2 vs dequantized {worstDequantized:E2}");

        // Against the dequantized weights only kernel rounding remains (float32, or int8 activations at level 4).
        Assert.True(worstDequantized < (accuracyLevel == 0 ? 1e-4 : 5e-2), $"relative L2 vs dequantized reference {worstDequantized:E3}");
        Assert.True(agreeDequantized >= positions * 0.95, $"top-1 vs dequantized reference {agreeDequantized}/{positions}");
        Assert.True(agreeReference >= positions * 0.5, $"top-1 vs reference {agreeReference}/{positions}");
    }
}
