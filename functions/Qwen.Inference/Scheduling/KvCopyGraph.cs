using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Qwen.Inference.Runtime;

namespace Qwen.Inference.Scheduling;

/// <summary>A one-node-per-tensor ONNX graph of <c>Identity</c> ops that copies KV blocks on the execution provider's own device.</summary>
/// <remarks>
/// Background: ONNX Runtime's device-agnostic copy (<c>OrtEnv.CopyTensors</c>) only knows data transfers registered with
/// the environment by plugin EP libraries; a provider appended to session options the classic way (how
/// <see cref="OnnxSessionFactory"/> starts CUDA and DirectML) registers none, and the call fails. A session of this graph
/// on the same provider copies with the provider's own kernels instead: inputs and outputs are bound with IoBinding to
/// views on the KV buffers, so the data never leaves the device. The graph is written as ONNX protobuf bytes here (a
/// dozen fields) rather than shipped in the package, because its input count depends on the model's layers and heads.
/// Not thread-safe: the runner's loop owns it.
/// </remarks>
internal sealed class KvCopyGraph : IDisposable
{
    private const long IrVersion = 8;
    private const long Opset = 17;

    private readonly InferenceSession _session;
    private readonly int _count;

    /// <summary>Loads the graph for <paramref name="count"/> 1-D tensors of <paramref name="type"/> on <paramref name="runtime"/>'s provider.</summary>
    /// <exception cref="QwenEngineException">The provider cannot load or run the graph.</exception>
    public KvCopyGraph(ModelRuntimeOptions runtime, TensorElementType type, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        _count = count;
        using var options = OnnxSessionFactory.CreateSessionOptions(runtime);
        var model = Model(type, count);
        _session = OrtGuard.Invoke("load the KV copy graph", () => new InferenceSession(model, options));
    }

    /// <summary>Copies <paramref name="sources"/>[i] into <paramref name="targets"/>[i] (same element counts) in one run.</summary>
    /// <exception cref="QwenEngineException">ONNX Runtime failed.</exception>
    public void Run(IReadOnlyList<OrtValue> sources, IReadOnlyList<OrtValue> targets)
    {
        if (sources.Count != _count || targets.Count != _count)
        {
            throw new ArgumentException($"The copy graph copies {_count} tensors; got {sources.Count} sources and {targets.Count} targets.");
        }
        using var binding = OrtGuard.Invoke("create the KV copy binding", _session.CreateIoBinding);
        OrtGuard.Invoke("bind the KV copy", () =>
        {
            for (var i = 0; i < _count; i++)
            {
                binding.BindInput(Name("in", i), sources[i]);
                binding.BindOutput(Name("out", i), targets[i]);
            }
        });
        using var runOptions = new RunOptions();
        OrtGuard.Invoke("run the KV copy graph", () => _session.RunWithBinding(runOptions, binding));
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();

    /// <summary>ModelProto bytes: inputs <c>in{i}</c> → Identity → outputs <c>out{i}</c>, each a 1-D tensor of length <c>n</c>.</summary>
    internal static byte[] Model(TensorElementType type, int count)
    {
        var elementType = type switch
        {
            TensorElementType.Float => 1L,
            TensorElementType.Float16 => 10L,
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "The KV cache is float32 or float16."),
        };
        var graph = new ProtoWriter();
        for (var i = 0; i < count; i++)
        {
            // NodeProto: input = 1, output = 2, name = 3, op_type = 4.
            graph.Message(1, node => node.String(1, Name("in", i)).String(2, Name("out", i)).String(3, Name("copy", i)).String(4, "Identity"));
        }
        graph.String(2, "kv_copy");
        for (var i = 0; i < count; i++)
        {
            graph.Message(11, value => ValueInfo(value, Name("in", i), elementType));
        }
        for (var i = 0; i < count; i++)
        {
            graph.Message(12, value => ValueInfo(value, Name("out", i), elementType));
        }
        // ModelProto: ir_version = 1, graph = 7, opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2).
        var model = new ProtoWriter().Varint(1, IrVersion).Bytes(7, graph.ToArray()).Message(8, opset => opset.String(1, "").Varint(2, Opset));
        return model.ToArray();
    }

    // ValueInfoProto: name = 1, type = 2; TypeProto: tensor_type = 1; Tensor: elem_type = 1, shape = 2; TensorShapeProto: dim = 1; Dimension: dim_param = 2.
    private static ProtoWriter ValueInfo(ProtoWriter value, string name, long elementType) =>
        value.String(1, name).Message(2, t => t.Message(1, tensor => tensor.Varint(1, elementType).Message(2, shape => shape.Message(1, dim => dim.String(2, "n")))));

    private static string Name(string prefix, int index) => prefix + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>The few protobuf wire-format writes an ONNX model needs (varints and length-delimited fields).</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream _stream = new();

        public ProtoWriter Varint(int field, long value)
        {
            Tag(field, 0);
            Raw((ulong)value);
            return this;
        }

        public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public ProtoWriter Bytes(int field, byte[] value)
        {
            Tag(field, 2);
            Raw((ulong)value.Length);
            _stream.Write(value);
            return this;
        }

        public ProtoWriter Message(int field, Func<ProtoWriter, ProtoWriter> build) => Bytes(field, build(new ProtoWriter()).ToArray());

        public byte[] ToArray() => _stream.ToArray();

        private void Tag(int field, int wireType) => Raw((ulong)((field << 3) | wireType));

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                _stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _stream.WriteByte((byte)value);
        }
    }
}
