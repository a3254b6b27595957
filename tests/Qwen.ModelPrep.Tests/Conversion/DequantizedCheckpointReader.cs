using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Conversion;

namespace Qwen.ModelPrep.Tests.Conversion;

/// <summary>
/// Presents a checkpoint as an int4 package stores it: linear weights quantized and dequantized with the same
/// <see cref="BlockQuantizer"/> settings (scales rounded to float16 for --target cuda), wte (and a 16-bit lm_head) rounded to float16. A reference forward pass
/// over this reader isolates graph/kernel error from quantization error.
/// </summary>
internal sealed class DequantizedCheckpointReader(ICheckpointReader inner, ConvertOptions options) : ICheckpointReader
{
    public CheckpointConfig Config => inner.Config;

    public IReadOnlyCollection<string> TensorNames => inner.TensorNames;

    public CheckpointTensorInfo GetInfo(string name) => inner.GetInfo(name);

    public void ReadRows(string name, long rowStart, int rows, Span<float> destination)
    {
        var info = inner.GetInfo(name);
        var cols = (int)info.Columns;
        var src = new float[rows * cols];
        inner.ReadRows(name, rowStart, rows, src);
        var bits = name == "lm_head.weight" ? options.LmHeadBits : name.EndsWith("attn.c_attn.weight", StringComparison.Ordinal)
            || name.EndsWith("c_proj.weight", StringComparison.Ordinal) || name.EndsWith("mlp.w1.weight", StringComparison.Ordinal)
            || name.EndsWith("mlp.w2.weight", StringComparison.Ordinal) ? 4 : 0;
        if (name == "transformer.wte.weight" || bits == 16)
        {
            for (var i = 0; i < src.Length; i++) destination[i] = (float)(Half)src[i];
            return;
        }
        if (bits == 0)
        {
            src.CopyTo(destination);
            return;
        }
        var bs = options.BlockSize;
        var blocks = BlockQuantizer.BlocksPerRow(cols, bs);
        var packed = new byte[rows * blocks * BlockQuantizer.BlobSize(bits, bs)];
        var scales = new float[rows * blocks];
        var zp = options.Asymmetric ? new byte[rows * BlockQuantizer.ZeroPointBytesPerRow(cols, bits, bs)] : [];
        BlockQuantizer.Quantize(src, rows, cols, bits, bs, !options.Asymmetric, packed, scales, zp);
        if (options.Fp16Activations)
        {
            // --target cuda stores the scales in float16, like the activations.
            for (var i = 0; i < scales.Length; i++) scales[i] = (float)(Half)scales[i];
        }
        BlockQuantizer.Dequantize(packed, scales, zp, rows, cols, bits, bs, !options.Asymmetric, destination);
    }

    public void Dispose() => inner.Dispose();
}
