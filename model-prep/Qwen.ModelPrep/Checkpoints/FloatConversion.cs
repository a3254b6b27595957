using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Qwen.ModelPrep.Checkpoints;

/// <summary>Vectorized conversions between float32 and the 16-bit checkpoint dtypes (BF16, F16).</summary>
public static class FloatConversion
{
    /// <summary>BF16 → float32 is exact: the 16 bits become the high half of the float.</summary>
    public static void Bf16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException($"destination holds {destination.Length} values; {source.Length} needed", nameof(destination));
        }
        ref var src = ref MemoryMarshal.GetReference(source);
        ref var dst = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
        nuint n = (nuint)source.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 32 <= n; i += 32)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref src, i));
                (lo << 16).StoreUnsafe(ref dst, i);
                (hi << 16).StoreUnsafe(ref dst, i + 16);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref src, i));
                (lo << 16).StoreUnsafe(ref dst, i);
                (hi << 16).StoreUnsafe(ref dst, i + 8);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref dst, i) = (uint)Unsafe.Add(ref src, i) << 16;
        }
    }

    /// <summary>float32 → BF16 with round-to-nearest-even (what PyTorch's <c>.to(torch.bfloat16)</c> does); NaN stays NaN.</summary>
    public static void SingleToBf16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException($"destination holds {destination.Length} values; {source.Length} needed", nameof(destination));
        }
        ref var src = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(source));
        ref var dst = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)source.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var lo = RoundToBf16(Vector256.LoadUnsafe(ref src, i));
                var hi = RoundToBf16(Vector256.LoadUnsafe(ref src, i + 8));
                Vector256.Narrow(lo, hi).StoreUnsafe(ref dst, i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref dst, i) = RoundToBf16(Unsafe.Add(ref src, i));
        }
    }

    /// <summary>One float32 (as bits) → BF16 bits, round-to-nearest-even.</summary>
    public static ushort RoundToBf16(uint bits)
    {
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
        {
            return (ushort)((bits >> 16) | 0x0040); // quiet NaN, sign kept
        }
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    private static Vector256<uint> RoundToBf16(Vector256<uint> bits)
    {
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        var isNaN = Vector256.GreaterThan(bits & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        return Vector256.ConditionalSelect(isNaN, (bits >> 16) | Vector256.Create(0x0040u), rounded);
    }

    /// <summary>IEEE half → float32 (exact).</summary>
    public static void HalfToSingle(ReadOnlySpan<Half> source, Span<float> destination)
        => TensorPrimitives.ConvertToSingle(source, destination);

    /// <summary>float32 → IEEE half, round-to-nearest-even.</summary>
    public static void SingleToHalf(ReadOnlySpan<float> source, Span<Half> destination)
        => TensorPrimitives.ConvertToHalf(source, destination);
}
