using System.Numerics;

namespace Qwen.ModelPrep.Conversion;

/// <summary>Block-wise weight quantization in the layout of ONNX Runtime's <c>com.microsoft.MatMulNBits</c>.</summary>
/// <remarks>
/// A weight row (one output channel, K inputs) is cut into blocks of <c>blockSize</c> inputs. Each block gets one
/// scale and a zero point; a code q dequantizes to <c>(q − zp) · scale</c>. Symmetric blocks use the implicit zero
/// point 2^(bits−1) that MatMulNBits assumes when no zero_points input is given. Codes are packed low bits first.
/// Scales come from round-to-nearest with a small search over clipping ratios, keeping the candidate with the
/// lowest squared error. Rows are independent, so they are quantized in parallel.
/// </remarks>
internal static class BlockQuantizer
{
    // Clipping ratios tried per block: 1 is plain absmax/minmax; smaller ratios trade a few clipped outliers
    // for a finer grid on the rest.
    private static readonly float[] ClipRatios = [1.0f, 0.95f, 0.9f, 0.85f, 0.8f, 0.75f];

    /// <summary>Blocks per row for K inputs.</summary>
    public static int BlocksPerRow(int k, int blockSize) => (k + blockSize - 1) / blockSize;

    /// <summary>Bytes of packed codes per block.</summary>
    public static int BlobSize(int bits, int blockSize) => blockSize * bits / 8;

    /// <summary>Bytes of packed zero points per row (asymmetric only).</summary>
    public static int ZeroPointBytesPerRow(int k, int bits, int blockSize) => (BlocksPerRow(k, blockSize) * bits + 7) / 8;

    /// <summary>Quantizes <paramref name="rows"/> rows of <paramref name="k"/> floats.</summary>
    // source: [rows, k] row-major.
    // packed: [rows, blocks, blobSize] codes.
    // scales: [rows, blocks].
    // zeroPoints: [rows, zeroPointBytesPerRow] when asymmetric; empty when symmetric.
    public static void Quantize(ReadOnlySpan<float> source, int rows, int k, int bits, int blockSize, bool symmetric,
        Span<byte> packed, Span<float> scales, Span<byte> zeroPoints)
    {
        if (bits is not (4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "Only 4- and 8-bit codes are supported.");
        }
        if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "Block size must be a power of two ≥ 16.");
        }
        var blocks = BlocksPerRow(k, blockSize);
        var blob = BlobSize(bits, blockSize);
        var zpRow = ZeroPointBytesPerRow(k, bits, blockSize);
        if (source.Length < (long)rows * k || packed.Length < (long)rows * blocks * blob || scales.Length < (long)rows * blocks
            || (!symmetric && zeroPoints.Length < (long)rows * zpRow))
        {
            throw new ArgumentException("Quantization buffers are smaller than rows × blocks.");
        }

        unsafe
        {
            fixed (float* src = source)
            fixed (byte* dst = packed)
            fixed (float* sc = scales)
            fixed (byte* zp = zeroPoints)
            {
                var s = (nint)src; var d = (nint)dst; var c = (nint)sc; var z = (nint)zp;
                Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => new float[blockSize], (r, _, block) =>
                {
                    var row = new ReadOnlySpan<float>((float*)s + (long)r * k, k);
                    var rowCodes = new Span<byte>((byte*)d + (long)r * blocks * blob, blocks * blob);
                    var rowScales = new Span<float>((float*)c + (long)r * blocks, blocks);
                    var rowZp = symmetric ? Span<byte>.Empty : new Span<byte>((byte*)z + (long)r * zpRow, zpRow);
                    rowZp.Clear();
                    for (var b = 0; b < blocks; b++)
                    {
                        var start = b * blockSize;
                        var n = Math.Min(blockSize, k - start);
                        row.Slice(start, n).CopyTo(block);
                        block.AsSpan(n).Clear();
                        var codes = rowCodes.Slice(b * blob, blob);
                        if (symmetric)
                        {
                            rowScales[b] = QuantizeSymmetric(block, bits, codes);
                        }
                        else
                        {
                            rowScales[b] = QuantizeAsymmetric(block, bits, codes, out var zero);
                            if (bits == 8)
                            {
                                rowZp[b] = zero;
                            }
                            else
                            {
                                rowZp[b >> 1] |= (byte)(zero << ((b & 1) * 4));
                            }
                        }
                    }
                    return block;
                }, _ => { });
            }
        }
    }

    /// <summary>Dequantizes rows written by <see cref="Quantize"/> back to floats (for references and tests).</summary>
    public static void Dequantize(ReadOnlySpan<byte> packed, ReadOnlySpan<float> scales, ReadOnlySpan<byte> zeroPoints,
        int rows, int k, int bits, int blockSize, bool symmetric, Span<float> destination)
    {
        var blocks = BlocksPerRow(k, blockSize);
        var blob = BlobSize(bits, blockSize);
        var zpRow = ZeroPointBytesPerRow(k, bits, blockSize);
        for (var r = 0; r < rows; r++)
        {
            for (var j = 0; j < k; j++)
            {
                var b = j / blockSize;
                var within = j % blockSize;
                var codeIndex = ((long)r * blocks + b) * blob;
                int code = bits == 8
                    ? packed[(int)(codeIndex + within)]
                    : (packed[(int)(codeIndex + within / 2)] >> ((within & 1) * 4)) & 0xF;
                int zero = symmetric
                    ? 1 << (bits - 1)
                    : bits == 8 ? zeroPoints[r * zpRow + b] : (zeroPoints[r * zpRow + b / 2] >> ((b & 1) * 4)) & 0xF;
                destination[r * k + j] = (code - zero) * scales[r * blocks + b];
            }
        }
    }

    private static float QuantizeSymmetric(ReadOnlySpan<float> block, int bits, Span<byte> codes)
    {
        var qmax = (1 << (bits - 1)) - 1;
        var zero = 1 << (bits - 1);
        var amax = MaxAbs(block);
        if (amax == 0f)
        {
            Pack(block, 0f, zero, 0, 2 * zero - 1, bits, codes);
            return 0f;
        }
        var bestScale = amax / qmax;
        var bestErr = float.PositiveInfinity;
        foreach (var ratio in ClipRatios)
        {
            var scale = amax * ratio / qmax;
            var err = SquaredError(block, scale, zero, 0, 2 * zero - 1);
            if (err < bestErr)
            {
                bestErr = err;
                bestScale = scale;
            }
        }
        // The code range is asymmetric ([−2^(b−1), 2^(b−1)−1]); a block whose largest magnitude is negative can
        // use the extra step, so try it too.
        var signedScale = amax / (qmax + 1);
        var signedErr = SquaredError(block, signedScale, zero, 0, 2 * zero - 1);
        if (signedErr < bestErr)
        {
            bestScale = signedScale;
        }
        Pack(block, bestScale, zero, 0, 2 * zero - 1, bits, codes);
        return bestScale;
    }

    private static float QuantizeAsymmetric(ReadOnlySpan<float> block, int bits, Span<byte> codes, out byte zeroPoint)
    {
        var levels = (1 << bits) - 1;
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        foreach (var v in block)
        {
            min = MathF.Min(min, v);
            max = MathF.Max(max, v);
        }
        // Keep 0 representable exactly (padding and exact zeros stay zero).
        min = MathF.Min(min, 0f);
        max = MathF.Max(max, 0f);
        if (max - min == 0f)
        {
            zeroPoint = 0;
            Pack(block, 0f, 0, 0, levels, bits, codes);
            return 0f;
        }
        var bestScale = 0f;
        var bestZero = 0;
        var bestErr = float.PositiveInfinity;
        foreach (var ratio in ClipRatios)
        {
            var lo = min * ratio;
            var hi = max * ratio;
            var scale = (hi - lo) / levels;
            var zero = Math.Clamp((int)MathF.Round(-lo / scale), 0, levels);
            var err = SquaredError(block, scale, zero, 0, levels);
            if (err < bestErr)
            {
                bestErr = err;
                bestScale = scale;
                bestZero = zero;
            }
        }
        zeroPoint = (byte)bestZero;
        Pack(block, bestScale, bestZero, 0, levels, bits, codes);
        return bestScale;
    }

    private static float MaxAbs(ReadOnlySpan<float> block)
    {
        var acc = Vector<float>.Zero;
        var i = 0;
        for (; i + Vector<float>.Count <= block.Length; i += Vector<float>.Count)
        {
            acc = Vector.Max(acc, Vector.Abs(new Vector<float>(block.Slice(i))));
        }
        var m = 0f;
        for (var j = 0; j < Vector<float>.Count; j++)
        {
            m = MathF.Max(m, acc[j]);
        }
        for (; i < block.Length; i++)
        {
            m = MathF.Max(m, MathF.Abs(block[i]));
        }
        return m;
    }

    /// <summary>Σ (w − (clamp(round(w/s) + zp) − zp)·s)² over the block.</summary>
    private static float SquaredError(ReadOnlySpan<float> block, float scale, int zero, int qmin, int qmax)
    {
        var inv = new Vector<float>(1f / scale);
        var s = new Vector<float>(scale);
        var z = new Vector<float>(zero);
        var lo = new Vector<float>(qmin);
        var hi = new Vector<float>(qmax);
        var acc = Vector<float>.Zero;
        for (var i = 0; i < block.Length; i += Vector<float>.Count)
        {
            var w = new Vector<float>(block.Slice(i));
            var q = Vector.Min(Vector.Max(Vector.Round(w * inv) + z, lo), hi);
            var e = w - (q - z) * s;
            acc += e * e;
        }
        return Vector.Sum(acc);
    }

    private static void Pack(ReadOnlySpan<float> block, float scale, int zero, int qmin, int qmax, int bits, Span<byte> codes)
    {
        var inv = scale == 0f ? 0f : 1f / scale;
        if (bits == 8)
        {
            for (var i = 0; i < block.Length; i++)
            {
                codes[i] = (byte)Math.Clamp((int)MathF.Round(block[i] * inv) + zero, qmin, qmax);
            }
            return;
        }
        for (var i = 0; i < block.Length; i += 2)
        {
            var a = Math.Clamp((int)MathF.Round(block[i] * inv) + zero, qmin, qmax);
            var b = Math.Clamp((int)MathF.Round(block[i + 1] * inv) + zero, qmin, qmax);
            codes[i >> 1] = (byte)(a | (b << 4));
        }
    }
}
