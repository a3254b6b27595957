using Qwen.Testing.Reference;

namespace Qwen.ModelPrep.Tests.Checkpoints;

public class ReferenceMathTests
{
    [Theory]
    [InlineData(1, 2048, 1)]
    [InlineData(2048, 2048, 1)]
    [InlineData(2049, 2048, 3)]
    [InlineData(4096, 2048, 3)]
    [InlineData(4097, 2048, 7)]
    [InlineData(8192, 2048, 7)]
    [InlineData(8193, 2048, 15)]
    [InlineData(16384, 2048, 15)]
    [InlineData(16385, 2048, 31)]
    [InlineData(32767, 2048, 31)]
    [InlineData(8192, 8192, 1)]
    [InlineData(8193, 8192, 3)]
    [InlineData(16385, 8192, 7)]
    [InlineData(32767, 8192, 7)]
    [InlineData(65, 64, 3)]
    [InlineData(129, 64, 7)]
    public void NtkAlpha_SpecTable_Matches(int totalLength, int seqLength, int expected)
        => Assert.Equal(expected, ReferenceMath.NtkAlpha(totalLength, seqLength));

    [Theory]
    [InlineData(64)]
    [InlineData(2048)]
    [InlineData(8192)]
    public void NtkAlpha_EveryLength_EqualsHfFloatFormula(int seqLength)
    {
        for (var length = 1; length <= 32767; length++)
        {
            // HF: context_value = log2(L/S) + 1; α = max(2^ceil(context_value) − 1, 1)
            var contextValue = Math.Log2((double)length / seqLength) + 1;
            var hf = Math.Max(Math.Pow(2, Math.Ceiling(contextValue)) - 1, 1);
            Assert.True(hf == ReferenceMath.NtkAlpha(length, seqLength), $"L={length}, S={seqLength}: HF {hf}, integer {ReferenceMath.NtkAlpha(length, seqLength)}");
        }
    }

    [Theory]
    [InlineData(1, 10000.0)]
    [InlineData(3, 30527.737)]
    [InlineData(7, 72195.860)]
    [InlineData(15, 156588.32)]
    [InlineData(31, 327366.40)]
    public void NtkBase_SpecTable_Matches(int alpha, double expected)
        => Assert.Equal(expected, ReferenceMath.NtkBase(10000, alpha, 128), expected * 1e-7);

    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(2047, 1.0)]
    [InlineData(2048, 1.0000640)]
    [InlineData(4095, 1.0909091)]
    [InlineData(8191, 1.1818182)]
    [InlineData(16383, 1.2727273)]
    [InlineData(32766, 1.3636324)]
    public void LognScale_SpecTable_Matches(int position, double expected)
        => Assert.Equal(expected, ReferenceMath.LognScale(position, 2048), 6e-8);

    [Fact]
    public void ApplyRope_FourDimsAtPositionOne_RotatesHalvesByHandComputedAngles()
    {
        // d = 4, base 10000: θ0 = 1, θ1 = 10000^(−1/2) = 0.01; pairs are (0, 2) and (1, 3) (rotate-half, not interleaved).
        double[] u = [1, 2, 3, 4];
        ReferenceMath.ApplyRope(u, 1, 10000);
        Assert.Equal(1 * 0.5403023058681398 - 3 * 0.8414709848078965, u[0], 1e-12);
        Assert.Equal(2 * 0.9999500004166653 - 4 * 0.009999833334166664, u[1], 1e-12);
        Assert.Equal(3 * 0.5403023058681398 + 1 * 0.8414709848078965, u[2], 1e-12);
        Assert.Equal(4 * 0.9999500004166653 + 2 * 0.009999833334166664, u[3], 1e-12);
    }

    [Fact]
    public void ApplyRope_PositionZero_LeavesVectorUnchanged()
    {
        double[] u = [0.5, -1, 2, 7, 3, -4];
        ReferenceMath.ApplyRope(u, 0, 30527.737);
        Assert.Equal([0.5, -1, 2, 7, 3, -4], u);
    }

    [Fact]
    public void ApplyRope_QueryKeyDot_DependsOnlyOnRelativePosition()
    {
        double[] q = [0.3, -1.2, 0.7, 2.0, 0.1, -0.4, 1.5, 0.9];
        double[] k = [1.1, 0.2, -0.5, 0.8, -1.3, 0.6, 0.4, -0.2];
        static double RotatedDot(double[] a, double[] b, int pa, int pb)
        {
            var ra = (double[])a.Clone();
            var rb = (double[])b.Clone();
            ReferenceMath.ApplyRope(ra, pa, 10000);
            ReferenceMath.ApplyRope(rb, pb, 10000);
            return ra.Zip(rb, (x, y) => x * y).Sum();
        }
        Assert.Equal(RotatedDot(q, k, 7, 3), RotatedDot(q, k, 1007, 1003), 1e-9);
        Assert.NotEqual(RotatedDot(q, k, 7, 3), RotatedDot(q, k, 7, 4), 6);
    }

    [Fact]
    public void RmsNorm_HandComputed_NormalizesThenScales()
    {
        // mean(x²) = (9 + 16) / 2 = 12.5; 1/√12.5 = 0.28284271247461906
        var y = ReferenceMath.RmsNorm([3.0, 4.0], [1f, 2f], 0);
        Assert.Equal(3 * 0.28284271247461906, y[0], 1e-15);
        Assert.Equal(2 * 4 * 0.28284271247461906, y[1], 1e-15);
        var withEps = ReferenceMath.RmsNorm([3.0, 4.0], [1f, 1f], 0.5);
        Assert.Equal(3 / Math.Sqrt(13), withEps[0], 1e-15);
    }

    [Fact]
    public void SwiGlu_OneByOne_GatesTheW2Branch()
    {
        // w1(x) = 2 (up), w2(x) = −1 (gate): 2 · silu(−1) = 2 · (−1 · σ(−1)) = −0.5378828427399902.
        // Gating w1 instead would give −1 · silu(2) = −1.7615941559557646.
        var y = ReferenceMath.SwiGlu([1.0], w1: [2f], w2: [-1f], cProj: [1f], hidden: 1, branch: 1);
        Assert.Equal(-0.5378828427399902, y[0], 1e-15);
    }

    [Fact]
    public void Linear_WithBias_UsesRowMajorOutByIn()
    {
        // W = [[1, 2, 3], [4, 5, 6]] (out 2, in 3), x = [1, 0, −1], b = [0.5, −0.5]
        var y = ReferenceMath.Linear([1, 2, 3, 4, 5, 6], 2, 3, [1.0, 0.0, -1.0], [0.5f, -0.5f]);
        Assert.Equal([-1.5, -2.5], y);
    }

    [Fact]
    public void Dot_LongVector_EqualsPlainLoop()
    {
        var w = Enumerable.Range(0, 37).Select(i => (float)Math.Sin(i)).ToArray();
        var x = Enumerable.Range(0, 37).Select(i => Math.Cos(i * 0.3)).ToArray();
        var plain = 0.0;
        for (var i = 0; i < w.Length; i++)
        {
            plain += w[i] * x[i];
        }
        Assert.Equal(plain, ReferenceMath.Dot(w, x), 1e-12);
    }
}
