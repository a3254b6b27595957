using Qwen.Inference.Packaging;

namespace Qwen.Inference.Runtime;

/// <summary>
/// Qwen's long-context arithmetic (spec §3.5–3.6): the dynamic-NTK α from the prefill length, the stretched rotary
/// base, and the LogN query scale per absolute position.
/// </summary>
/// <remarks>Pure functions; safe from any thread. α is chosen once per request from the prompt length and kept for the whole generation.</remarks>
public static class LongContext
{
    /// <summary>Positions the LogN table of the reference code covers (1…32767): the longest sequence served with LogN on.</summary>
    public const int LognHardLimit = 32767;

    /// <summary>
    /// The dynamic-NTK α for a forward pass over <paramref name="totalLength"/> keys with training length
    /// <paramref name="seqLength"/>: 1 up to S, else 2^(k+1) − 1 for the smallest k ≥ 1 with S·2^k ≥ L.
    /// </summary>
    /// <remarks>The integer form of <c>max(2^ceil(log2(L/S) + 1) − 1, 1)</c>, equal to it for every L in 1…32767.</remarks>
    public static int NtkAlpha(int totalLength, int seqLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLength);
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

    /// <summary>The α a request uses: <see cref="NtkAlpha"/> of its prompt length when the model enables dynamic NTK, else 1.</summary>
    public static int RequestAlpha(ModelArchitecture architecture, int promptLength) =>
        architecture.UseDynamicNtk ? NtkAlpha(promptLength, architecture.SeqLength) : 1;

    /// <summary>base′ = base · α^(d/(d−2)).</summary>
    public static double RotaryBase(double baseFrequency, int alpha, int headDim) =>
        baseFrequency * Math.Pow(alpha, headDim / (headDim - 2.0));

    /// <summary>LogN scale λ(p) of the query at absolute 0-based position <paramref name="position"/>: ln(p+1)/ln(S) when p+1 &gt; S, else 1.</summary>
    public static float LognScale(int position, int seqLength) =>
        position + 1 > seqLength ? (float)(Math.Log(position + 1.0) / Math.Log(seqLength)) : 1f;

    /// <summary>Fills <paramref name="destination"/> with λ(p) for positions <paramref name="startPosition"/>… (all 1 when LogN is off).</summary>
    public static void FillLognScale(ModelArchitecture architecture, int startPosition, Span<float> destination)
    {
        for (var t = 0; t < destination.Length; t++)
        {
            destination[t] = architecture.UseLognAttn ? LognScale(startPosition + t, architecture.SeqLength) : 1f;
        }
    }

    /// <summary>The longest sequence (prompt + output) a package can serve: its MaxContext, capped at 32767 when LogN is on.</summary>
    /// <param name="architecture">The package's architecture.</param>
    /// <param name="configured">A smaller context chosen by the host (saves KV memory), or null for the package's.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="configured"/> is not positive or exceeds what the package allows.</exception>
    public static int ResolveContextLength(ModelArchitecture architecture, int? configured)
    {
        var limit = architecture.UseLognAttn ? Math.Min(architecture.MaxContext, LognHardLimit) : architecture.MaxContext;
        if (configured is not { } value)
        {
            return limit;
        }
        if (value <= 0 || value > limit)
        {
            throw new ArgumentOutOfRangeException(nameof(configured), value,
                $"The configured context length {value:N0} is outside 1…{limit:N0}, the most this package serves (MaxContext {architecture.MaxContext:N0}{(architecture.UseLognAttn ? $", LogN limit {LognHardLimit:N0}" : "")}).");
        }
        return value;
    }
}
