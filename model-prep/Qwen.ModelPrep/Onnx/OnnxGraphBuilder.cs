using Google.Protobuf;
using Qwen.ModelPrep.Onnx.Proto;

namespace Qwen.ModelPrep.Onnx;

/// <summary>Builds an ONNX <see cref="GraphProto"/> node by node with generated value names.</summary>
/// <remarks>Not thread-safe. Weights never pass through here: initializers are external-data references or tiny constants.</remarks>
internal sealed class OnnxGraphBuilder
{
    /// <summary>Domain of ONNX Runtime's contrib operators.</summary>
    public const string MicrosoftDomain = "com.microsoft";

    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);
    private int _counter;

    public OnnxGraphBuilder(string name) => Graph = new GraphProto { Name = name };

    public GraphProto Graph { get; }

    /// <summary>Adds a graph input. Dimensions are <c>long</c> (fixed) or <c>string</c> (symbolic).</summary>
    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        Graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>Declares a graph output produced by a node output named <paramref name="name"/>.</summary>
    public void Output(string name, TensorProto.Types.DataType type, params object[] dims)
        => Graph.Output.Add(ValueInfo(name, type, dims));

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string opType, IEnumerable<string> inputs, string? output = null, string domain = "", params AttributeProto[] attributes)
        => NodeMulti(opType, inputs, [output ?? NewName(opType)], domain, attributes)[0];

    /// <summary>Adds a node with several outputs (empty string = unused optional output).</summary>
    public string[] NodeMulti(string opType, IEnumerable<string> inputs, string[] outputs, string domain = "", params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_counter++}", Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outputs;
    }

    /// <summary>A fresh value name with a readable prefix.</summary>
    public string NewName(string prefix) => $"{prefix}_{_counter++}";

    /// <summary>Adds a prepared initializer (inline or external) to the graph.</summary>
    public string Initializer(TensorProto tensor)
    {
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>An int64 constant initializer (deduplicated by value).</summary>
    public string ConstInt64(params long[] values) => ConstInt64Shaped(values.Length == 1 ? [] : [values.Length], values);

    /// <summary>A 1-D int64 constant, even for one element (for Reshape shapes, Unsqueeze axes).</summary>
    public string ConstInt64Vector(params long[] values) => ConstInt64Shaped([values.Length], values);

    private string ConstInt64Shaped(long[] dims, long[] values)
    {
        var key = $"i64[{string.Join(',', dims)}]:{string.Join(',', values)}";
        if (_constants.TryGetValue(key, out var existing))
        {
            return existing;
        }
        var t = new TensorProto { Name = NewName("const_i64"), DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(values);
        _constants[key] = Initializer(t);
        return t.Name;
    }

    /// <summary>A scalar float constant of the given element type (float or float16).</summary>
    public string ConstScalar(float value, TensorProto.Types.DataType type)
    {
        var key = $"{type}:{value:R}";
        if (_constants.TryGetValue(key, out var existing))
        {
            return existing;
        }
        var t = InlineFloats(NewName("const_f"), type, [], [value]);
        _constants[key] = Initializer(t);
        return t.Name;
    }

    /// <summary>An inline float or float16 tensor (small tables only: the proto must stay well under 2 GB).</summary>
    public static TensorProto InlineFloats(string name, TensorProto.Types.DataType type, long[] dims, ReadOnlySpan<float> values)
    {
        var t = new TensorProto { Name = name, DataType = (int)type };
        t.Dims.AddRange(dims);
        if (type == TensorProto.Types.DataType.Float)
        {
            var bytes = new byte[values.Length * 4];
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).CopyTo(bytes);
            t.RawData = ByteString.CopyFrom(bytes);
        }
        else if (type == TensorProto.Types.DataType.Float16)
        {
            var halves = new Half[values.Length];
            System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(values, halves);
            t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan()));
        }
        else
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Only float and float16 inline tensors are supported.");
        }
        return t;
    }

    /// <summary>An initializer whose bytes live in the external data file.</summary>
    public static TensorProto External(string name, TensorProto.Types.DataType type, long[] dims, string location, long offset, long length)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, DataLocation = TensorProto.Types.DataLocation.External };
        t.Dims.AddRange(dims);
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return t;
    }

    public static AttributeProto Attr(string name, long value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                long l => new TensorShapeProto.Types.Dimension { DimValue = l },
                int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                _ => throw new ArgumentException($"Dimension {d} must be a number or a symbolic name.", nameof(dims)),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>Wraps the graph in a model importing opset 21 and com.microsoft 1 (IR version 10).</summary>
    public ModelProto ToModel(string producerVersion, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = new ModelProto
        {
            IrVersion = 10,
            ProducerName = "qwen-model-prep",
            ProducerVersion = producerVersion,
            Graph = Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 21 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        if (metadata is not null)
        {
            foreach (var (k, v) in metadata)
            {
                model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
            }
        }
        return model;
    }
}
