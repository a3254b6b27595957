using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Qwen.Inference.Packaging;
using Qwen.ModelPrep.Conversion;
using Qwen.Testing;

namespace Qwen.ModelPrep.Tests.Conversion;

/// <summary>
/// A minimal single-sequence driver of a package's native graph over ONNX Runtime (the engine's real runtime is
/// built elsewhere): host-side rotary/LogN tables per spec §3.5–3.6, one shared past/present KV buffer per layer.
/// </summary>
internal sealed class PackageRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly ModelArchitecture _arch;
    private readonly GraphIo _io;
    private readonly OrtValue[] _pastKeys;
    private readonly OrtValue[] _pastValues;
    private readonly int _maxSeq;
    private double _alpha = 1;

    public PackageRunner(string packageDir, int maxSeq)
    {
        Manifest = JsonSerializer.Deserialize<ModelManifest>(
            File.ReadAllText(Path.Combine(packageDir, ModelManifest.FileName)), PackageConverter.ManifestSerializerOptions)!;
        _arch = Manifest.Architecture;
        _io = Manifest.Io;
        _maxSeq = maxSeq;
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        if (TestExecutionProvider.Current == Qwen.Inference.Runtime.ExecutionProvider.Cuda)
        {
            // Past/present stay host buffers: ONNX Runtime copies them to and from the GPU each run (slow, but the maths is the device's).
            options.AppendExecutionProvider_CUDA(0);
        }
        _session = new InferenceSession(Path.Combine(packageDir, PackageConverter.ModelFile), options);
        var kvType = _io.KvDtype == "float16" ? TensorElementType.Float16 : TensorElementType.Float;
        long[] kvShape = [1, _arch.NumHeads, maxSeq, _arch.HeadDim];
        _pastKeys = new OrtValue[_arch.NumLayers];
        _pastValues = new OrtValue[_arch.NumLayers];
        for (var i = 0; i < _arch.NumLayers; i++)
        {
            _pastKeys[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, kvType, kvShape);
            _pastValues[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, kvType, kvShape);
        }
    }

    public ModelManifest Manifest { get; }

    /// <summary>Tokens in the KV cache.</summary>
    public int Position { get; private set; }

    /// <summary>Starts a new sequence: the next <see cref="Forward"/> is a prefill from position 0 (the buffers are overwritten).</summary>
    public void Reset() => Position = 0;

    /// <summary>Runs <paramref name="tokens"/> after the cached ones; returns logits [tokens.Length, vocab] row-major.</summary>
    public float[] Forward(IReadOnlyList<long> tokens)
    {
        var t = tokens.Count;
        if (Position == 0)
        {
            _alpha = NtkAlpha(t, _arch.SeqLength, _arch.UseDynamicNtk);
        }
        var half = _arch.HeadDim / 2;
        var cos = new float[t * half];
        var sin = new float[t * half];
        var logn = new float[t];
        var baseAdj = _arch.RotaryBase * Math.Pow(_alpha, _arch.HeadDim / (_arch.HeadDim - 2.0));
        for (var j = 0; j < t; j++)
        {
            var p = Position + j;
            for (var i = 0; i < half; i++)
            {
                // Spec §3.5: inv_freq and the angle are float32.
                var invFreq = (float)(1.0 / Math.Pow(baseAdj, 2.0 * i / _arch.HeadDim));
                var angle = (float)p * invFreq;
                cos[j * half + i] = MathF.Cos(angle);
                sin[j * half + i] = MathF.Sin(angle);
            }
            logn[j] = _arch.UseLognAttn && p + 1 > _arch.SeqLength ? (float)(Math.Log(p + 1) / Math.Log(_arch.SeqLength)) : 1f;
        }
        var indices = Enumerable.Range(0, t).Select(i => (long)i).ToArray();
        var logits = new float[t * _arch.VocabSize];

        var names = new List<string>();
        var values = new List<OrtValue>();
        var owned = new List<OrtValue>();
        void Add(string name, OrtValue v, bool own = true)
        {
            names.Add(name);
            values.Add(v);
            if (own)
            {
                owned.Add(v);
            }
        }
        Add(_io.InputIds, OrtValue.CreateTensorValueFromMemory(tokens.ToArray(), [1, t]));
        Add(_io.RopeCos, OrtValue.CreateTensorValueFromMemory(cos, [1, t, half]));
        Add(_io.RopeSin, OrtValue.CreateTensorValueFromMemory(sin, [1, t, half]));
        Add(_io.LognScale, OrtValue.CreateTensorValueFromMemory(logn, [1, t]));
        Add(_io.SeqLensK, OrtValue.CreateTensorValueFromMemory(new[] { Position + t - 1 }, [1]));
        Add(_io.TotalSequenceLength, OrtValue.CreateTensorValueFromMemory(new[] { Position + t }, []));
        Add(_io.LogitsIndices, OrtValue.CreateTensorValueFromMemory(indices, [t]));
        for (var i = 0; i < _arch.NumLayers; i++)
        {
            Add(string.Format(_io.PastKey, i), _pastKeys[i], own: false);
            Add(string.Format(_io.PastValue, i), _pastValues[i], own: false);
        }
        var outNames = new List<string> { _io.Logits };
        var logitsValue = OrtValue.CreateTensorValueFromMemory(logits, [t, _arch.VocabSize]);
        owned.Add(logitsValue);
        var outValues = new List<OrtValue> { logitsValue };
        for (var i = 0; i < _arch.NumLayers; i++)
        {
            outNames.Add(string.Format(_io.PresentKey, i));
            outValues.Add(_pastKeys[i]);
            outNames.Add(string.Format(_io.PresentValue, i));
            outValues.Add(_pastValues[i]);
        }
        try
        {
            using var run = new RunOptions();
            _session.Run(run, names, values, outNames, outValues);
        }
        finally
        {
            owned.ForEach(v => v.Dispose());
        }
        Position += t;
        return logits;
    }

    /// <summary>Spec §3.5 integer form: α = 1 up to S, else 2^(k+1) − 1 for the smallest k ≥ 1 with S·2^k ≥ L.</summary>
    public static double NtkAlpha(int totalLength, int seqLength, bool enabled)
    {
        if (!enabled || totalLength <= seqLength)
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

    public void Dispose()
    {
        _session.Dispose();
        foreach (var v in _pastKeys.Concat(_pastValues))
        {
            v.Dispose();
        }
    }
}
