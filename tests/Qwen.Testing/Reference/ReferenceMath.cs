using System.Runtime.Intrinsics;

namespace Qwen.Testing.Reference;

/// <summary>The pieces of the Qwen forward pass (spec §3), in float64, one small function each.</summary>
public static class ReferenceMath
{
    /// <summary>Dynamic-NTK α for a prefill of <paramref name="totalLength"/> keys (spec §3.5, integer form): 1 up to S, else 2^(k+1) − 1 for the smallest k ≥ 1 with S·2^k ≥ L.</summary>
    public static int NtkAlpha(int totalLength, int seqLength)
    {
        if (totalLength <= seqLength)
        {
            return 1;
        }
        var k = 1;
        while ((long)seqLength << k < totalLength)
        {
            k++;
        }
        return (1 << (k + 1)) - 1;
    }

    /// <summary>base′ = base · α^(d/(d−2)) (spec §3.5).</summary>
    public static double NtkBase(double rotaryBase, int alpha, int headDim)
        => rotaryBase * Math.Pow(alpha, headDim / (headDim - 2.0));

    /// <summary>LogN factor λ(p) = ln(p+1)/ln(S) when p+1 &gt; S, else 1 (spec §3.6); p is the 0-based absolute position.</summary>
    public static double LognScale(int position, int seqLength)
        => position + 1 > seqLength ? Math.Log(position + 1) / Math.Log(seqLength) : 1.0;

    /// <summary>Rotate-half RoPE of one head vector in place: u′[i] = u[i]c − u[i+h]s, u′[i+h] = u[i+h]c + u[i]s, angle p·base′^(−2i/d).</summary>
    public static void ApplyRope(Span<double> head, int position, double rotaryBase)
    {
        var d = head.Length;
        var half = d / 2;
        for (var i = 0; i < half; i++)
        {
            var theta = Math.Pow(rotaryBase, -2.0 * i / d);
            var angle = position * theta;
            var (s, c) = Math.SinCos(angle);
            var a = head[i];
            var b = head[i + half];
            head[i] = a * c - b * s;
            head[i + half] = b * c + a * s;
        }
    }

    /// <summary>RMSNorm: x / sqrt(mean(x²) + ε) ⊙ g (spec §3.3), statistics in float64.</summary>
    public static double[] RmsNorm(ReadOnlySpan<double> x, ReadOnlySpan<float> gain, double eps)
    {
        var sumSquares = 0.0;
        foreach (var v in x)
        {
            sumSquares += v * v;
        }
        var inv = 1.0 / Math.Sqrt(sumSquares / x.Length + eps);
        var y = new double[x.Length];
        for (var j = 0; j < x.Length; j++)
        {
            y[j] = x[j] * inv * gain[j];
        }
        return y;
    }

    /// <summary>SiLU(z) = z·σ(z).</summary>
    public static double Silu(double z) => z / (1.0 + Math.Exp(-z));

    /// <summary>y = W·x (+ b) for a PyTorch Linear weight W stored [rows = out, cols = in] row-major.</summary>
    public static double[] Linear(float[] weight, int rows, int cols, ReadOnlySpan<double> x, float[]? bias = null)
    {
        var y = new double[rows];
        for (var r = 0; r < rows; r++)
        {
            y[r] = Dot(weight.AsSpan(r * cols, cols), x) + (bias is null ? 0 : bias[r]);
        }
        return y;
    }

    /// <summary>The Qwen MLP: c_proj( w1(x) ⊙ SiLU(w2(x)) ) — w2 is the gate (spec §2.3).</summary>
    public static double[] SwiGlu(ReadOnlySpan<double> x, float[] w1, float[] w2, float[] cProj, int hidden, int branch)
    {
        var up = Linear(w1, branch, hidden, x);
        var gate = Linear(w2, branch, hidden, x);
        var product = new double[branch];
        for (var i = 0; i < branch; i++)
        {
            product[i] = up[i] * Silu(gate[i]);
        }
        return Linear(cProj, hidden, branch, product);
    }

    /// <summary>Σ w[i]·x[i] with float weights widened to double (vectorized; only the summation order differs from a plain loop).</summary>
    public static double Dot(ReadOnlySpan<float> w, ReadOnlySpan<double> x)
    {
        var i = 0;
        var acc0 = Vector256<double>.Zero;
        var acc1 = Vector256<double>.Zero;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= w.Length; i += 8)
            {
                var wv = Vector256.Create(w.Slice(i, 8));
                acc0 += Vector256.WidenLower(wv) * Vector256.Create(x.Slice(i, 4));
                acc1 += Vector256.WidenUpper(wv) * Vector256.Create(x.Slice(i + 4, 4));
            }
        }
        var sum = Vector256.Sum(acc0 + acc1);
        for (; i < w.Length; i++)
        {
            sum += w[i] * x[i];
        }
        return sum;
    }
}
