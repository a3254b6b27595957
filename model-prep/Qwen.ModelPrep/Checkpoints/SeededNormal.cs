using System.Runtime.CompilerServices;

namespace Qwen.ModelPrep.Checkpoints;

/// <summary>A small, fast, platform-independent random stream for generated weights (SplitMix64 + a 4-uniform sum).</summary>
/// <remarks>
/// Each (seed, tensor, row) gets its own stream, so rows can be generated in any order or in parallel and any row
/// can be regenerated on demand, always with identical bytes. The "normal" is the sum of four 16-bit uniforms,
/// scaled to unit variance (Irwin–Hall): bell-shaped, bounded at ±3.46σ, and one 64-bit draw per value, which keeps
/// a 7B checkpoint's generation dominated by disk writes. Weights need a plausible spread, not exact Gaussian tails.
/// </remarks>
public struct SeededNormal
{
    private const ulong Golden = 0x9E37_79B9_7F4A_7C15;
    private const float Scale = 1.7320508f / 65536f; // sqrt(3) / 2^16: unit variance for the sum of four U[0, 2^16)
    private ulong _state;

    /// <summary>The stream for one row of one tensor.</summary>
    public SeededNormal(ulong seed, string tensorName, long row)
    {
        _state = Mix(Mix(seed ^ Fnv1a(tensorName)) + (ulong)row * Golden);
    }

    /// <summary>Next value, approximately N(0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Next()
    {
        _state += Golden;
        var u = Mix(_state);
        var sum = (long)(u & 0xFFFF) + (long)((u >> 16) & 0xFFFF) + (long)((u >> 32) & 0xFFFF) + (long)(u >> 48);
        return (sum - 131070) * Scale;
    }

    /// <summary>Fills <paramref name="destination"/> with mean + std·N(0, 1).</summary>
    public void Fill(Span<float> destination, float mean, float std)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = mean + std * Next();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }

    private static ulong Fnv1a(string text)
    {
        var hash = 0xCBF2_9CE4_8422_2325UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 0x0000_0100_0000_01B3UL;
        }
        return hash;
    }
}
