using Microsoft.ML.OnnxRuntime;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;

namespace Qwen.Inference.Generation;

/// <summary>
/// Runs the graph for one sequence: prefill of many tokens or decode of one, over a KV cache allocated once and bound
/// as both past and present. Keeps which tokens the cache holds so a later prompt can reuse a common prefix.
/// </summary>
/// <remarks>Not thread-safe: <see cref="QwenGenerator"/> serializes callers.</remarks>
internal sealed class SequenceRunner : IDisposable
{
    private readonly ModelManifest _manifest;
    private readonly InferenceSession _session;
    private readonly OrtAllocator _allocator;
    private readonly KvCacheBuffers _kv;
    private readonly OrtIoBinding _binding;
    private readonly OrtValue _logitsValue;
    private readonly StepInputs _decodeInputs;
    private readonly bool _scalarTotalLength;
    private readonly List<int> _cached = [];
    private StepInputs? _bound;
    private int _cachedAlpha;

    public SequenceRunner(ModelPackage package, ModelRuntimeOptions options)
    {
        _manifest = package.Manifest;
        var arch = _manifest.Architecture;
        ContextLength = LongContext.ResolveContextLength(arch, options.ContextLength);
        _session = OnnxSessionFactory.CreateSession(package, options);
        try
        {
            var totalMeta = _session.InputMetadata[_manifest.Io.TotalSequenceLength];
            _scalarTotalLength = totalMeta.Dimensions.Length == 0;
            _allocator = OnnxSessionFactory.CreateDeviceAllocator(_session, options);
            _kv = new KvCacheBuffers(_manifest, batchSize: 1, ContextLength, _allocator);
            _binding = OrtGuard.Invoke("create the I/O binding", _session.CreateIoBinding);
            Logits = new float[arch.VocabSize]; // [1, vocab]
            _logitsValue = OrtGuard.Invoke("create the logits output", () => OrtValue.CreateTensorValueFromMemory(Logits, [1, arch.VocabSize]));
            _kv.BindTo(_binding, _manifest.Io);
            OrtGuard.Invoke("bind the logits output", () => _binding.BindOutput(_manifest.Io.Logits, _logitsValue));
            _decodeInputs = new StepInputs(1, arch.HeadDim, _scalarTotalLength);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The session, shared with <see cref="Scoring.PromptScorer"/> (ONNX Runtime allows concurrent runs).</summary>
    public InferenceSession Session => _session;

    /// <summary>The allocator of the KV cache (the device's).</summary>
    public OrtAllocator Allocator => _allocator;

    /// <summary>Longest sequence the KV cache holds.</summary>
    public int ContextLength { get; }

    /// <summary>Bytes of the KV cache.</summary>
    public long KvBytes => _kv.Bytes;

    /// <summary>Logits of the last run, [vocab].</summary>
    public float[] Logits { get; }

    /// <summary>Number of tokens whose KV entries are valid (positions 0…count−1).</summary>
    public int CachedCount => _cached.Count;

    /// <summary>How many leading tokens of <paramref name="prompt"/> are already in the cache with the same α (at most prompt length − 1).</summary>
    public int ReusableLength(IReadOnlyList<int> prompt, int alpha)
    {
        if (alpha != _cachedAlpha)
        {
            return 0;
        }
        var limit = Math.Min(_cached.Count, prompt.Count - 1);
        var n = 0;
        while (n < limit && _cached[n] == prompt[n])
        {
            n++;
        }
        return n;
    }

    /// <summary>Forgets the cached tokens (the buffers stay allocated).</summary>
    public void Reset() => _cached.Clear();

    /// <summary>Runs <paramref name="tokens"/>[<paramref name="reuse"/>..] on top of the first <paramref name="reuse"/> cached tokens; fills <see cref="Logits"/> for the last token.</summary>
    public void Prefill(IReadOnlyList<int> tokens, int reuse, RotaryEmbedding rotary, RunOptions runOptions, CancellationToken cancellationToken)
    {
        if (reuse < 0 || reuse >= tokens.Count || reuse > _cached.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(reuse), reuse, $"Reuse must leave at least one new token and not exceed the {_cached.Count} cached tokens.");
        }
        // Anything past the reused prefix is about to be overwritten, and stays invalid if the run fails.
        _cached.RemoveRange(reuse, _cached.Count - reuse);
        var fresh = new int[tokens.Count - reuse];
        for (var i = 0; i < fresh.Length; i++)
        {
            fresh[i] = tokens[reuse + i];
        }
        using var inputs = new StepInputs(fresh.Length, _manifest.Architecture.HeadDim, _scalarTotalLength);
        inputs.Fill(fresh, reuse, rotary, _manifest.Architecture);
        try
        {
            Run(inputs, "run the prefill", runOptions, cancellationToken);
        }
        finally
        {
            _bound = null; // the prefill inputs are disposed with this scope
        }
        _cachedAlpha = rotary.Alpha;
        _cached.AddRange(fresh);
    }

    /// <summary>Runs one token at the next position; fills <see cref="Logits"/>.</summary>
    public void Decode(int token, RotaryEmbedding rotary, RunOptions runOptions, CancellationToken cancellationToken)
    {
        if (rotary.Alpha != _cachedAlpha)
        {
            throw new InvalidOperationException("Decode must use the α of the prefill that filled the cache.");
        }
        var position = _cached.Count;
        if (position >= ContextLength)
        {
            throw new InvalidOperationException($"The KV cache is full ({ContextLength:N0} positions).");
        }
        _decodeInputs.Fill([token], position, rotary, _manifest.Architecture);
        Run(_decodeInputs, "run a decode step", runOptions, cancellationToken);
        _cached.Add(token);
    }

    private void Run(StepInputs inputs, string operation, RunOptions runOptions, CancellationToken cancellationToken)
    {
        if (!ReferenceEquals(_bound, inputs))
        {
            inputs.BindTo(_binding, _manifest.Io);
            _bound = inputs;
        }
        cancellationToken.ThrowIfCancellationRequested();
        OrtGuard.Invoke(operation, () => _session.RunWithBinding(runOptions, _binding), cancellationToken);
    }

    public void Dispose()
    {
        _decodeInputs?.Dispose();
        _logitsValue?.Dispose();
        _binding?.Dispose();
        _kv?.Dispose();
        if (_allocator is not null && !ReferenceEquals(_allocator, OrtAllocator.DefaultInstance))
        {
            _allocator.Dispose();
        }
        _session?.Dispose();
    }
}
