using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;

namespace Qwen.Inference.Scheduling;

/// <summary>Runs step plans with ONNX Runtime over one KV buffer per layer and kind, [maxBatch, heads, maxSeq, headDim], allocated once.</summary>
/// <remarks>
/// Background: rows are contiguous in the buffer, so a joining request is prefilled on an OrtValue over just its row
/// ([1, heads, maxSeq, headDim] at the row's offset) and the running rows are not touched; a decode binds an OrtValue
/// over rows [0, n). GroupQueryAttention reads each row's valid length from <c>seqlens_k</c>, so rows of different
/// lengths decode together, and rope/LogN inputs are per token, so each row keeps its own NTK α.
/// Limitation: CPU only (the buffers are host memory); other providers use the single-request generator.
/// Not thread-safe: the scheduler loop owns it.
/// </remarks>
public sealed class OnnxBatchRunner : IBatchRunner
{
    private readonly ModelManifest _manifest;
    private readonly InferenceSession _session;
    private readonly bool _scalarTotalLength;
    private readonly TensorElementType _kvType;
    private readonly long _rowElements;
    private readonly int _elementBytes;
    private readonly nint[] _buffers; // per layer: key, value; each [maxBatch, heads, maxSeq, headDim]
    private readonly OrtValue?[][] _prefixViews; // [rows − 1][layer·2 + kind]
    private readonly OrtValue?[][] _rowViews; // [slot][layer·2 + kind]
    private readonly Dictionary<int, OrtIoBinding> _bindings = []; // key: rows (decode) or −1 − slot (prefill)
    private readonly float[] _logits; // [maxBatch, vocab], pinned
    private readonly RotaryEmbedding _fillerRotary;
    private bool _disposed;

    /// <summary>Loads the package's graph and allocates the KV buffer for <paramref name="maxBatchSize"/> rows of <paramref name="maxSequenceLength"/> positions.</summary>
    /// <exception cref="QwenEngineException">The graph does not load or does not match the manifest.</exception>
    /// <exception cref="NotSupportedException">The provider is not CPU.</exception>
    public OnnxBatchRunner(ModelPackage package, ModelRuntimeOptions runtime, int maxBatchSize, int maxSequenceLength)
    {
        if (runtime.ExecutionProvider != ExecutionProvider.Cpu)
        {
            throw new NotSupportedException($"The batching runner keeps its KV cache in host memory and runs on CPU only; {runtime.ExecutionProvider} uses QwenGenerator.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 2);
        _manifest = package.Manifest;
        var arch = _manifest.Architecture;
        MaxBatchSize = maxBatchSize;
        MaxSequenceLength = maxSequenceLength;
        VocabRows = arch.VocabSize;
        _kvType = OnnxSessionFactory.KvElementType(_manifest.Io);
        _elementBytes = _kvType == TensorElementType.Float16 ? 2 : 4;
        _rowElements = (long)arch.NumHeads * maxSequenceLength * arch.HeadDim;
        _buffers = new nint[arch.NumLayers * 2];
        _prefixViews = new OrtValue?[maxBatchSize][];
        _rowViews = new OrtValue?[maxBatchSize][];
        _logits = GC.AllocateArray<float>(maxBatchSize * arch.VocabSize, pinned: true);
        _fillerRotary = new RotaryEmbedding(arch.HeadDim, arch.RotaryBase, 1);
        _session = OnnxSessionFactory.CreateSession(package, runtime);
        try
        {
            _scalarTotalLength = _session.InputMetadata[_manifest.Io.TotalSequenceLength].Dimensions.Length == 0;
            var bytes = (nuint)(_rowElements * maxBatchSize * _elementBytes);
            for (var i = 0; i < _buffers.Length; i++)
            {
                unsafe
                {
                    // Zeroed so that no uninitialised (possibly NaN) memory reaches a kernel, even in rows never written.
                    _buffers[i] = (nint)NativeMemory.AlignedAlloc(bytes, 64);
                    NativeMemory.Clear((void*)_buffers[i], bytes);
                }
            }
            KvBytes = (long)bytes * _buffers.Length;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public int MaxBatchSize { get; }

    /// <inheritdoc />
    public int MaxSequenceLength { get; }

    /// <inheritdoc />
    public int VocabRows { get; }

    /// <summary>The package's session, shared with <see cref="Scoring.PromptScorer"/> (ONNX Runtime allows concurrent runs).</summary>
    internal InferenceSession Session => _session;

    /// <summary>Bytes of the KV buffers.</summary>
    public long KvBytes { get; }

    /// <inheritdoc />
    public void Prefill(PrefillWork work, IReadOnlyList<int> tokens, RotaryEmbedding rotary, Span<float> logits, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var arch = _manifest.Architecture;
        var count = work.TokenCount;
        var half = arch.HeadDim / 2;
        var ids = new long[count];                 // [1, T]
        var cos = new float[count * half];         // [1, T, d/2]
        var sin = new float[count * half];         // [1, T, d/2]
        var logn = new float[count];               // [1, T]
        for (var t = 0; t < count; t++)
        {
            ids[t] = tokens[work.StartPosition + t];
        }
        rotary.Fill(work.StartPosition, cos, sin);
        LongContext.FillLognScale(arch, work.StartPosition, logn);
        var total = work.StartPosition + count;
        using var inputs = new SmallInputs(ids, cos, sin, logn, [total - 1], total, [count - 1], 1, count, half, _scalarTotalLength);
        using var logitsValue = LogitsValue(1);
        var binding = Binding(-1 - work.Slot, () => RowViews(work.Slot));
        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        Run(binding, inputs, logitsValue, runOptions, "run a prefill", cancellationToken);
        _logits.AsSpan(0, VocabRows).CopyTo(logits);
    }

    /// <inheritdoc />
    public void Decode(DecodeBatch batch, ReadOnlySpan<int> tokens, IReadOnlyList<RotaryEmbedding> rotaries, Span<float> logits)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var arch = _manifest.Architecture;
        var rows = batch.Rows;
        var half = arch.HeadDim / 2;
        var ids = new long[rows];          // [rows, 1]
        var cos = new float[rows * half];  // [rows, 1, d/2]
        var sin = new float[rows * half];  // [rows, 1, d/2]
        var logn = new float[rows];        // [rows, 1]
        var seqlens = new int[rows];       // [rows]
        var indices = new long[batch.Active.Count]; // [active]
        var total = 0;
        for (var i = 0; i < batch.Active.Count; i++)
        {
            var row = batch.Active[i];
            ids[row.Slot] = tokens[i];
            rotaries[i].Fill(row.Position, cos.AsSpan(row.Slot * half, half), sin.AsSpan(row.Slot * half, half));
            LongContext.FillLognScale(arch, row.Position, logn.AsSpan(row.Slot, 1));
            seqlens[row.Slot] = row.Position;
            indices[i] = row.Slot;
            total = Math.Max(total, row.Position + 1);
        }
        foreach (var filler in batch.Fillers)
        {
            // A dummy token past the row's valid entries: its K/V land where nothing reads them, its logits are not asked for.
            _fillerRotary.Fill(filler.Position, cos.AsSpan(filler.Slot * half, half), sin.AsSpan(filler.Slot * half, half));
            logn[filler.Slot] = 1f;
            seqlens[filler.Slot] = filler.Position;
            total = Math.Max(total, filler.Position + 1);
        }
        using var inputs = new SmallInputs(ids, cos, sin, logn, seqlens, total, indices, rows, 1, half, _scalarTotalLength);
        using var logitsValue = LogitsValue(batch.Active.Count);
        var binding = Binding(rows, () => PrefixViews(rows));
        using var runOptions = new RunOptions();
        Run(binding, inputs, logitsValue, runOptions, "run a decode step", CancellationToken.None);
        _logits.AsSpan(0, batch.Active.Count * VocabRows).CopyTo(logits);
    }

    private void Run(OrtIoBinding binding, SmallInputs inputs, OrtValue logits, RunOptions runOptions, string operation, CancellationToken cancellationToken)
    {
        var io = _manifest.Io;
        OrtGuard.Invoke("bind step inputs", () =>
        {
            binding.BindInput(io.InputIds, inputs.Values[0]);
            binding.BindInput(io.RopeCos, inputs.Values[1]);
            binding.BindInput(io.RopeSin, inputs.Values[2]);
            binding.BindInput(io.LognScale, inputs.Values[3]);
            binding.BindInput(io.SeqLensK, inputs.Values[4]);
            binding.BindInput(io.TotalSequenceLength, inputs.Values[5]);
            binding.BindInput(io.LogitsIndices, inputs.Values[6]);
            binding.BindOutput(io.Logits, logits);
        });
        cancellationToken.ThrowIfCancellationRequested();
        OrtGuard.Invoke(operation, () => _session.RunWithBinding(runOptions, binding), cancellationToken);
    }

    private OrtValue LogitsValue(int rows) =>
        OrtGuard.Invoke("create the logits output", () => OrtValue.CreateTensorValueFromMemory(
            OrtMemoryInfo.DefaultInstance, _logits.AsMemory(0, rows * VocabRows), [rows, VocabRows]));

    private OrtIoBinding Binding(int key, Func<OrtValue?[]> views)
    {
        if (_bindings.TryGetValue(key, out var binding))
        {
            return binding;
        }
        binding = OrtGuard.Invoke("create an I/O binding", _session.CreateIoBinding);
        var io = _manifest.Io;
        var kv = views();
        OrtGuard.Invoke("bind the KV cache", () =>
        {
            for (var layer = 0; layer < _manifest.Architecture.NumLayers; layer++)
            {
                binding.BindInput(Name(io.PastKey, layer), kv[layer * 2]!);
                binding.BindInput(Name(io.PastValue, layer), kv[layer * 2 + 1]!);
                binding.BindOutput(Name(io.PresentKey, layer), kv[layer * 2]!);
                binding.BindOutput(Name(io.PresentValue, layer), kv[layer * 2 + 1]!);
            }
        });
        _bindings.Add(key, binding);
        return binding;
    }

    private OrtValue?[] RowViews(int slot) => _rowViews[slot] ??= Views(slot, 1);

    private OrtValue?[] PrefixViews(int rows) => _prefixViews[rows - 1] ??= Views(0, rows);

    private OrtValue?[] Views(int firstRow, int rows)
    {
        var arch = _manifest.Architecture;
        var views = new OrtValue?[_buffers.Length];
        long[] shape = [rows, arch.NumHeads, MaxSequenceLength, arch.HeadDim];
        var offset = firstRow * _rowElements * _elementBytes;
        var length = rows * _rowElements * _elementBytes;
        for (var i = 0; i < _buffers.Length; i++)
        {
            var pointer = _buffers[i] + (nint)offset;
            views[i] = OrtGuard.Invoke("create a KV view", () => OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, _kvType, shape, pointer, length));
        }
        return views;
    }

    private static string Name(string format, int layer) => string.Format(CultureInfo.InvariantCulture, format, layer);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var binding in _bindings.Values)
        {
            binding.Dispose();
        }
        foreach (var views in _prefixViews.Concat(_rowViews))
        {
            foreach (var view in views ?? [])
            {
                view?.Dispose();
            }
        }
        _session?.Dispose();
        unsafe
        {
            foreach (var buffer in _buffers)
            {
                if (buffer != 0)
                {
                    NativeMemory.AlignedFree((void*)buffer);
                }
            }
        }
    }

    /// <summary>The small per-call inputs as OrtValues over pinned managed arrays.</summary>
    private sealed class SmallInputs : IDisposable
    {
        public SmallInputs(long[] ids, float[] cos, float[] sin, float[] logn, int[] seqlens, int total, long[] indices, int rows, int length, int half, bool scalarTotal)
        {
            Values = OrtGuard.Invoke("create step inputs", () => new[]
            {
                OrtValue.CreateTensorValueFromMemory(ids, [rows, length]),
                OrtValue.CreateTensorValueFromMemory(cos, [rows, length, half]),
                OrtValue.CreateTensorValueFromMemory(sin, [rows, length, half]),
                OrtValue.CreateTensorValueFromMemory(logn, [rows, length]),
                OrtValue.CreateTensorValueFromMemory(seqlens, [rows]),
                OrtValue.CreateTensorValueFromMemory(new[] { total }, scalarTotal ? [] : [1]),
                OrtValue.CreateTensorValueFromMemory(indices, [indices.Length]),
            });
        }

        public OrtValue[] Values { get; }

        public void Dispose()
        {
            foreach (var value in Values)
            {
                value.Dispose();
            }
        }
    }
}
