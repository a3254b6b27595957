using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Qwen.Inference.Packaging;
using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Onnx;
using Qwen.ModelPrep.Onnx.Proto;
using DataType = Qwen.ModelPrep.Onnx.Proto.TensorProto.Types.DataType;

namespace Qwen.ModelPrep.Conversion;

/// <summary>Streams a checkpoint's tensors, one chunk of rows at a time, into the external data file.</summary>
/// <remarks>
/// Peak memory is one chunk (about <see cref="ChunkElements"/> floats plus its converted copy) no matter how big
/// the model is. Float linear weights are transposed to MatMul's [in, out] layout chunk by chunk: a chunk of
/// output rows becomes a column strip of the transposed tensor, written with one positioned write per input row.
/// MatMulNBits keeps PyTorch's [out, in] row order, so quantized weights are written sequentially.
/// </remarks>
internal sealed class QwenWeightWriter
{
    private const int ChunkElements = 1 << 22;
    private readonly ICheckpointReader _reader;
    private readonly ExternalDataWriter _data;
    private readonly ConvertOptions _options;
    private readonly Action<string, long> _advance;
    private readonly CancellationToken _cancellationToken;
    private readonly ModelArchitecture _arch;

    public QwenWeightWriter(ICheckpointReader reader, ExternalDataWriter data, ConvertOptions options,
        Action<string, long> advance, CancellationToken cancellationToken)
    {
        _reader = reader;
        _data = data;
        _options = options;
        _advance = advance;
        _cancellationToken = cancellationToken;
        _arch = reader.Config.Architecture;
    }

    /// <summary>Element type of activations, norms, biases, int4 scales and the KV cache.</summary>
    public static DataType ActivationType(ConvertOptions options) => options.Fp16Activations ? DataType.Float16 : DataType.Float;

    /// <summary>Checkpoint tensor names the converter reads, in write order.</summary>
    public static IEnumerable<string> TensorNames(int layers)
    {
        yield return "transformer.wte.weight";
        for (var i = 0; i < layers; i++)
        {
            foreach (var suffix in LayerSuffixes)
            {
                yield return $"transformer.h.{i}.{suffix}";
            }
        }
        yield return "transformer.ln_f.weight";
        yield return "lm_head.weight";
    }

    private static readonly string[] LayerSuffixes =
    [
        "ln_1.weight", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
        "ln_2.weight", "mlp.w1.weight", "mlp.w2.weight", "mlp.c_proj.weight",
    ];

    /// <summary>Total elements of all tensors the conversion reads (the progress bar's 100%).</summary>
    public static long TotalElements(ICheckpointReader reader)
        => TensorNames(reader.Config.Architecture.NumLayers).Sum(n => reader.GetInfo(n).ElementCount);

    public QwenWeights WriteAll()
    {
        var act = ActivationType(_options);
        var h = _arch.HiddenSize;
        var inter = _arch.IntermediateSize;
        var embType = _options.Dtype == ModelDtype.Fp32 ? DataType.Float : DataType.Float16;
        var embedding = WriteRows("transformer.wte.weight", "wte", embType, [_arch.VocabSize, h]);

        var layers = new List<LayerWeights>(_arch.NumLayers);
        for (var i = 0; i < _arch.NumLayers; i++)
        {
            var p = $"transformer.h.{i}.";
            layers.Add(new LayerWeights(
                Norm1: WriteRows(p + "ln_1.weight", $"h.{i}.ln_1", act, [h]),
                Qkv: WriteLinear(p + "attn.c_attn.weight", $"h.{i}.c_attn", 3 * h, h, LinearBits()),
                QkvBias: WriteRows(p + "attn.c_attn.bias", $"h.{i}.c_attn.bias", act, [3 * h]),
                AttnOut: WriteLinear(p + "attn.c_proj.weight", $"h.{i}.attn.c_proj", h, h, LinearBits()),
                Norm2: WriteRows(p + "ln_2.weight", $"h.{i}.ln_2", act, [h]),
                W1: WriteLinear(p + "mlp.w1.weight", $"h.{i}.mlp.w1", inter, h, LinearBits()),
                W2: WriteLinear(p + "mlp.w2.weight", $"h.{i}.mlp.w2", inter, h, LinearBits()),
                MlpOut: WriteLinear(p + "mlp.c_proj.weight", $"h.{i}.mlp.c_proj", h, inter, LinearBits())));
        }
        var finalNorm = WriteRows("transformer.ln_f.weight", "ln_f", act, [h]);
        var lmBits = _options.Dtype == ModelDtype.Int4 ? (_options.LmHeadBits == 16 ? 0 : _options.LmHeadBits) : 0;
        var lmHead = WriteLinear("lm_head.weight", "lm_head", _arch.VocabSize, h, lmBits,
            floatType: _options.Dtype == ModelDtype.Fp32 ? DataType.Float : DataType.Float16);
        return new QwenWeights(embedding, embType, layers, finalNorm, lmHead);
    }

    private int LinearBits() => _options.Dtype == ModelDtype.Int4 ? 4 : 0;

    private CheckpointTensorInfo Expect(string name, long[] shape)
    {
        var info = _reader.GetInfo(name);
        if (!info.Shape.SequenceEqual(shape))
        {
            throw new ModelPrepException(
                $"checkpoint tensor {name} has shape [{string.Join(", ", info.Shape)}]; config.json implies [{string.Join(", ", shape)}]. The checkpoint and its config.json disagree.");
        }
        return info;
    }

    /// <summary>Copies a tensor as is (row-major), converted to <paramref name="type"/>.</summary>
    private TensorProto WriteRows(string name, string onnxName, DataType type, long[] shape)
    {
        var info = Expect(name, shape);
        var cols = (int)info.Columns;
        var rows = info.Rows;
        var es = ElementSize(type);
        var region = _data.Begin(onnxName, type, shape, info.ElementCount * es);
        var chunkRows = (int)Math.Max(1, Math.Min(rows, ChunkElements / cols));
        var src = new float[chunkRows * cols];
        var dst = new byte[chunkRows * cols * es];
        for (long r0 = 0; r0 < rows; r0 += chunkRows)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            var n = (int)Math.Min(chunkRows, rows - r0);
            var count = n * cols;
            _reader.ReadRows(name, r0, n, src.AsSpan(0, count));
            Convert(src.AsSpan(0, count), type, dst.AsSpan(0, count * es));
            region.Write(r0 * cols * es, dst.AsSpan(0, count * es));
            _advance(name, count);
        }
        return region.Tensor;
    }

    /// <summary>Writes a linear weight [out, in]: transposed float for MatMul, or MatMulNBits blocks.</summary>
    private LinearWeights WriteLinear(string name, string onnxName, int outFeatures, int inFeatures, int bits, DataType? floatType = null)
    {
        Expect(name, [outFeatures, inFeatures]);
        return bits == 0
            ? WriteTransposed(name, onnxName, outFeatures, inFeatures, floatType ?? ActivationType(_options))
            : WriteQuantized(name, onnxName, outFeatures, inFeatures, bits);
    }

    private LinearWeights WriteTransposed(string name, string onnxName, int outFeatures, int inFeatures, DataType type)
    {
        var es = ElementSize(type);
        var region = _data.Begin(onnxName, type, [inFeatures, outFeatures], (long)inFeatures * outFeatures * es);
        var chunkRows = Math.Max(1, Math.Min(outFeatures, ChunkElements / inFeatures));
        var src = new float[chunkRows * inFeatures];
        var transposed = new float[chunkRows * inFeatures];
        var dst = new byte[chunkRows * inFeatures * es];
        for (var r0 = 0; r0 < outFeatures; r0 += chunkRows)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            var n = Math.Min(chunkRows, outFeatures - r0);
            _reader.ReadRows(name, r0, n, src.AsSpan(0, n * inFeatures));
            Transpose(src, transposed, n, inFeatures);
            Convert(transposed.AsSpan(0, n * inFeatures), type, dst.AsSpan(0, n * inFeatures * es));
            var strip = n * es;
            for (var i = 0; i < inFeatures; i++)
            {
                region.Write(((long)i * outFeatures + r0) * es, dst.AsSpan(i * strip, strip));
            }
            _advance(name, (long)n * inFeatures);
        }
        return new LinearWeights(inFeatures, outFeatures, 0, region.Tensor, type);
    }

    private LinearWeights WriteQuantized(string name, string onnxName, int outFeatures, int inFeatures, int bits)
    {
        var bs = _options.BlockSize;
        var symmetric = !_options.Asymmetric;
        var blocks = BlockQuantizer.BlocksPerRow(inFeatures, bs);
        var blob = BlockQuantizer.BlobSize(bits, bs);
        var zpRow = BlockQuantizer.ZeroPointBytesPerRow(inFeatures, bits, bs);
        var weight = _data.Begin(onnxName + ".q", DataType.Uint8, [outFeatures, blocks, blob], (long)outFeatures * blocks * blob);
        var scaleType = ActivationType(_options);
        var ses = ElementSize(scaleType);
        var scales = _data.Begin(onnxName + ".scales", scaleType, [outFeatures, blocks], (long)outFeatures * blocks * ses);
        var zeros = symmetric ? null : _data.Begin(onnxName + ".zp", DataType.Uint8, [outFeatures, zpRow], (long)outFeatures * zpRow);

        var chunkRows = Math.Max(1, Math.Min(outFeatures, ChunkElements / inFeatures));
        var src = new float[chunkRows * inFeatures];
        var packed = new byte[chunkRows * blocks * blob];
        var scaleBuf = new float[chunkRows * blocks];
        var scaleBytes = new byte[chunkRows * blocks * ses];
        var zpBuf = symmetric ? [] : new byte[chunkRows * zpRow];
        for (var r0 = 0; r0 < outFeatures; r0 += chunkRows)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            var n = Math.Min(chunkRows, outFeatures - r0);
            _reader.ReadRows(name, r0, n, src.AsSpan(0, n * inFeatures));
            BlockQuantizer.Quantize(src.AsSpan(0, n * inFeatures), n, inFeatures, bits, bs, symmetric,
                packed, scaleBuf, zpBuf);
            weight.Write((long)r0 * blocks * blob, packed.AsSpan(0, n * blocks * blob));
            Convert(scaleBuf.AsSpan(0, n * blocks), scaleType, scaleBytes.AsSpan(0, n * blocks * ses));
            scales.Write((long)r0 * blocks * ses, scaleBytes.AsSpan(0, n * blocks * ses));
            zeros?.Write((long)r0 * zpRow, zpBuf.AsSpan(0, n * zpRow));
            _advance(name, (long)n * inFeatures);
        }
        return new LinearWeights(inFeatures, outFeatures, bits, weight.Tensor, DataType.Uint8, scales.Tensor, zeros?.Tensor, bs);
    }

    /// <summary>[rows, cols] → [cols, rows], tiled so both sides stay in cache, tiles in parallel.</summary>
    private static void Transpose(float[] src, float[] dst, int rows, int cols)
    {
        const int Tile = 64;
        var colTiles = (cols + Tile - 1) / Tile;
        Parallel.For(0, colTiles, ct =>
        {
            var c0 = ct * Tile;
            var c1 = Math.Min(cols, c0 + Tile);
            for (var r0 = 0; r0 < rows; r0 += Tile)
            {
                var r1 = Math.Min(rows, r0 + Tile);
                for (var c = c0; c < c1; c++)
                {
                    var d = c * rows;
                    for (var r = r0; r < r1; r++)
                    {
                        dst[d + r] = src[r * cols + c];
                    }
                }
            }
        });
    }

    private static void Convert(ReadOnlySpan<float> src, DataType type, Span<byte> dst)
    {
        switch (type)
        {
            case DataType.Float:
                MemoryMarshal.AsBytes(src).CopyTo(dst);
                break;
            case DataType.Float16:
                TensorPrimitives.ConvertToHalf(src, MemoryMarshal.Cast<byte, Half>(dst));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Weights are stored as float or float16.");
        }
    }

    private static int ElementSize(DataType type) => type switch
    {
        DataType.Float => 4,
        DataType.Float16 => 2,
        DataType.Uint8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unexpected weight type."),
    };
}
