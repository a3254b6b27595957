using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;

namespace Qwen.Inference.Scheduling;

/// <summary>Runs step plans with ONNX Runtime over one KV buffer per layer and kind, [maxBatch, heads, maxSeq, headDim], allocated once on the session's device.</summary>
/// <remarks>
/// Background: the buffers come from the allocator of the provider's memory (<see cref="OnnxSessionFactory.CreateDeviceAllocator"/>:
/// GPU memory for CUDA/DirectML, host memory for CPU), so CPU and GPU run exactly this code. Views over them are OrtValues
/// on that same memory, bound with IoBinding as both past and present: GroupQueryAttention appends in place and the cache
/// never crosses PCIe. Rows are contiguous, so a joining request is prefilled on a view over just its row
/// ([1, heads, maxSeq, headDim] at the row's offset) and the running rows are not touched; a decode binds a view over rows
/// [0, n). GroupQueryAttention reads each row's valid length from <c>seqlens_k</c>, so rows of different lengths decode
/// together, and rope/LogN inputs are per token, so each row keeps its own NTK α. The small per-step inputs and the
/// logits output are bound in host memory: ONNX Runtime copies the inputs to the device and copies back only the logits
/// rows listed in <c>logits_indices</c>, i.e. the rows the scheduler samples from.
/// Limitation: host buffers are zeroed once; device buffers are not (the C# API has no device memset). Rows never mix in
/// the graph, a request reads only positions it wrote, and unwritten memory can reach only a filler's discarded output
/// and its slot, which the row's next owner overwrites before reading.
/// DirectML's tensor "addresses" are opaque handles, so views at a row offset are wrong there; <see cref="KvCachePlan"/>
/// gives DirectML one row, so every view starts at the buffer.
/// Not thread-safe: the scheduler loop owns it.
/// </remarks>
public sealed class OnnxBatchRunner : IBatchRunner
{
    private readonly ModelManifest _manifest;
    private readonly InferenceSession _session;
    private readonly bool _profiling;
    private readonly OrtAllocator? _allocator;
    private readonly OrtMemoryInfo _kvMemory;
    private readonly bool _scalarTotalLength;
    private readonly TensorElementType _kvType;
    private readonly long _rowBytes;
    private readonly OrtValue?[] _buffers; // per layer: key, value; each [maxBatch, heads, maxSeq, headDim]
    private readonly nint[] _pointers; // where each buffer starts (device memory on a GPU: never dereferenced here)
    private readonly OrtValue?[][] _prefixViews; // [rows − 1][layer·2 + kind]
    private readonly OrtValue?[][] _rowViews; // [slot][layer·2 + kind]
    private readonly Dictionary<int, OrtIoBinding> _bindings = []; // key: rows (decode) or −1 − slot (prefill)
    private readonly float[] _logits; // [maxBatch, vocab], pinned host memory
    private readonly RotaryEmbedding _fillerRotary;
    private bool _disposed;

    /// <summary>Loads the package's graph and allocates the KV buffer for <paramref name="maxBatchSize"/> rows of <paramref name="maxSequenceLength"/> positions on the provider's device.</summary>
    /// <exception cref="QwenEngineException">The provider is missing, the graph does not load or does not match the manifest, or the device cannot hold the KV buffer.</exception>
    public OnnxBatchRunner(ModelPackage package, ModelRuntimeOptions runtime, int maxBatchSize, int maxSequenceLength)
    {
        ArgumentNullException.ThrowIfNull(package);
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 2);
        _manifest = package.Manifest;
        var arch = _manifest.Architecture;
        MaxBatchSize = maxBatchSize;
        MaxSequenceLength = maxSequenceLength;
        VocabRows = arch.VocabSize;
        _kvType = OnnxSessionFactory.KvElementType(_manifest.Io);
        _rowBytes = KvCachePlan.BytesPerPositionOf(_manifest) / (2L * arch.NumLayers) * maxSequenceLength;
        _buffers = new OrtValue?[arch.NumLayers * 2];
        _pointers = new nint[arch.NumLayers * 2];
        _prefixViews = new OrtValue?[maxBatchSize][];
        _rowViews = new OrtValue?[maxBatchSize][];
        _logits = GC.AllocateArray<float>(maxBatchSize * arch.VocabSize, pinned: true);
        _fillerRotary = new RotaryEmbedding(arch.HeadDim, arch.RotaryBase, 1);
        _session = OnnxSessionFactory.CreateSession(package, runtime);
        _profiling = runtime.ProfilePathPrefix is not null;
        try
        {
            _scalarTotalLength = _session.InputMetadata[_manifest.Io.TotalSequenceLength].Dimensions.Length == 0;
            var allocator = OnnxSessionFactory.CreateDeviceAllocator(_session, runtime);
            _allocator = ReferenceEquals(allocator, OrtAllocator.DefaultInstance) ? null : allocator;
            _kvMemory = allocator.Info;
            Device = runtime.ExecutionProvider;
            var bytes = _rowBytes * maxBatchSize;
            if (bytes > int.MaxValue)
            {
                throw new QwenEngineException("allocate the KV cache",
                    $"One layer's KV buffer would take {bytes:N0} bytes ({maxBatchSize} rows × {maxSequenceLength:N0} positions); at most {int.MaxValue:N0} are supported. Lower MaxBatchSize or the context.");
            }
            long[] shape = [maxBatchSize, arch.NumHeads, maxSequenceLength, arch.HeadDim];
            for (var i = 0; i < _buffers.Length; i++)
            {
                var buffer = OrtGuard.Invoke($"allocate the KV cache on {runtime.ExecutionProvider} ({bytes * _buffers.Length:N0} bytes in all; lower the KV budget, MaxBatchSize or the context if memory is short)",
                    () => OrtValue.CreateAllocatedTensorValue(allocator, _kvType, shape));
                _buffers[i] = buffer;
                // The span only carries the address (ONNX Runtime's tensor data pointer); on a device it is never read.
                var raw = buffer.GetTensorMutableRawData();
                unsafe
                {
                    _pointers[i] = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(raw));
                }
                if (runtime.ExecutionProvider == ExecutionProvider.Cpu)
                {
                    // Zeroed so that no uninitialised (possibly NaN) memory reaches a kernel, even in rows never written.
                    raw.Clear();
                }
            }
            KvBytes = bytes * _buffers.Length;
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

    /// <summary>The allocator of the provider's memory, where a <see cref="Scoring.PromptScorer"/> puts its own KV cache.</summary>
    internal OrtAllocator KvAllocator => _allocator ?? OrtAllocator.DefaultInstance;

    /// <summary>Bytes of the KV buffers.</summary>
    public long KvBytes { get; }

    /// <summary>The provider whose memory holds the KV buffers.</summary>
    public ExecutionProvider Device { get; }

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
        var offset = firstRow * _rowBytes;
        var length = rows * _rowBytes;
        for (var i = 0; i < _buffers.Length; i++)
        {
            var pointer = _pointers[i] + (nint)offset;
            // A view on the provider's memory: ONNX Runtime binds it in place, with no copy to or from the host.
            views[i] = OrtGuard.Invoke("create a KV view", () => OrtValue.CreateTensorValueWithData(_kvMemory, _kvType, shape, pointer, length));
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
        // Buffers go back to the allocator before the allocator (and the session that owns the device allocator) goes.
        foreach (var buffer in _buffers)
        {
            buffer?.Dispose();
        }
        _allocator?.Dispose();
        if (_profiling)
        {
            // Flushes the trace; ONNX Runtime would otherwise write it only when the session is finalized.
            OrtGuard.Invoke("end profiling", () => _session.EndProfiling());
        }
        _session?.Dispose();
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
