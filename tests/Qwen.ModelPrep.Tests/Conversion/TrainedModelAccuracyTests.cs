using System.Globalization;
using Qwen.ModelPrep.Conversion;
using Qwen.Testing;
using Xunit.Abstractions;

namespace Qwen.ModelPrep.Tests.Conversion;

/// <summary>
/// Quantized packages of the trained checkpoint (qwen-tiny-py) against its fp32 package on held-out text: top-1 agreement
/// of the greedy next token and perplexity (teacher forcing, 128-token windows, α = 1).
/// </summary>
/// <remarks>
/// The test runs a modest number of windows to stay fast; QWEN_QUALITY_WINDOWS=N runs N windows (docs/quality.md
/// reports 64). Trained weights give real top-1 margins, unlike the seeded random checkpoints.
/// </remarks>
public sealed class TrainedModelAccuracyTests(ITestOutputHelper output)
{
    private const int WindowLength = TrainedModel.SeqLength;

    [Theory]
    [InlineData(ModelDtype.Int4, 0.95, 0.03)]
    [InlineData(ModelDtype.Fp16, 0.995, 0.005)]
    public async Task QuantizedPackage_HeldOutText_AgreesWithFp32(ModelDtype dtype, double minAgreement, double maxPerplexityRatioError)
    {
        var windows = int.TryParse(Environment.GetEnvironmentVariable("QWEN_QUALITY_WINDOWS"), CultureInfo.InvariantCulture, out var n) ? n : 4;
        var fp32Package = await TrainedModel.GetPackageAsync(ModelDtype.Fp32);
        var quantizedPackage = await TrainedModel.GetPackageAsync(dtype);
        int vocab;
        using (var probe = new PackageRunner(fp32Package, WindowLength))
        {
            vocab = probe.Manifest.Architecture.VocabSize;
        }

        int positions = 0, agree = 0;
        double nllFp32 = 0, nllQuantized = 0;
        foreach (var window in TrainedModel.Windows(windows, WindowLength))
        {
            var ids = window.Select(t => (long)t).ToArray();
            var want = Fresh(fp32Package, ids);
            var got = Fresh(quantizedPackage, ids);
            for (var t = 0; t < window.Length - 1; t++)
            {
                var a = want.AsSpan(t * vocab, vocab);
                var b = got.AsSpan(t * vocab, vocab);
                positions++;
                agree += a.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(a)) == b.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(b)) ? 1 : 0;
                nllFp32 -= LogSoftmaxAt(a, window[t + 1]);
                nllQuantized -= LogSoftmaxAt(b, window[t + 1]);
            }
        }
        var pplFp32 = Math.Exp(nllFp32 / positions);
        var pplQuantized = Math.Exp(nllQuantized / positions);
        output.WriteLine(FormattableString.Invariant(
            $"{dtype} vs fp32, {windows} windows × {WindowLength}: top-1 agreement {agree}/{positions} = {100.0 * agree / positions:F2}%; perplexity fp32 {pplFp32:F4}, {dtype} {pplQuantized:F4} ({100 * (pplQuantized / pplFp32 - 1):+0.00;-0.00}%)"));
        Assert.True(agree >= minAgreement * positions, $"top-1 agreement {agree}/{positions}");
        Assert.True(Math.Abs(pplQuantized / pplFp32 - 1) <= maxPerplexityRatioError, $"perplexity {pplQuantized} vs fp32 {pplFp32}");
        // A real signal, not flat logits: the trained model is far better than uniform over the vocabulary.
        Assert.True(pplFp32 < 1000, $"fp32 perplexity {pplFp32}");
    }

    private static float[] Fresh(string package, long[] ids)
    {
        using var runner = new PackageRunner(package, WindowLength);
        return runner.Forward(ids);
    }

    /// <summary>log softmax(row)[index], in float64.</summary>
    internal static double LogSoftmaxAt(ReadOnlySpan<float> row, int index)
    {
        double max = System.Numerics.Tensors.TensorPrimitives.Max(row);
        var sum = 0.0;
        foreach (var v in row)
        {
            sum += Math.Exp(v - max);
        }
        return row[index] - max - Math.Log(sum);
    }
}
