using System.Text.Json;
using Qwen.ModelPrep.Onnx.Proto;
using Qwen.Testing;

namespace Qwen.ModelPrep.Tests.Conversion;

/// <summary>
/// An execution provider's registered kernels for the operators the Qwen graph uses (a fixture transcribed from ONNX
/// Runtime's docs/OperatorKernels.md, source recorded in the file), and a checker that walks a graph node by node:
/// each node needs a kernel of its op and domain whose version range covers the op's schema version, whose type
/// constraints admit the node's input types, and whose constraints give the node's output types.
/// </summary>
internal sealed class KernelTable
{
    private readonly JsonElement _root;

    private KernelTable(string path)
    {
        using var stream = File.OpenRead(path);
        _root = JsonDocument.Parse(stream).RootElement.Clone();
        Path = path;
    }

    public string Path { get; }

    public string Provider => _root.GetProperty("provider").GetString()!;

    /// <summary>Loads tests/Qwen.ModelPrep.Tests/Conversion/Kernels/<paramref name="name"/>-kernels.json.</summary>
    public static KernelTable Load(string name) =>
        new(System.IO.Path.Combine(RepoPaths.Root, "tests", "Qwen.ModelPrep.Tests", "Conversion", "Kernels", $"{name}-kernels.json"));

    /// <summary>Every violation in <paramref name="model"/>'s graph, one line each (empty when every node has a kernel for its types).</summary>
    public List<string> Check(ModelProto model)
    {
        var graph = model.Graph;
        var problems = new List<string>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in graph.Input)
        {
            types[input.Name] = TypeName(input.Type.TensorType.ElemType);
        }
        foreach (var initializer in graph.Initializer)
        {
            types[initializer.Name] = TypeName(initializer.DataType);
        }
        foreach (var node in graph.Node)
        {
            var domain = node.Domain.Length == 0 ? "ai.onnx" : node.Domain;
            var where = $"{node.Name} ({domain}.{node.OpType})";
            var kernel = Find(node.OpType, domain);
            if (kernel is not { } k)
            {
                problems.Add($"{where}: {Provider} registers no kernel for {domain}.{node.OpType}");
                continue;
            }
            if (!CoversSchemaVersion(k, node.OpType, domain, out var versionProblem))
            {
                problems.Add($"{where}: {versionProblem}");
            }
            var bound = new Dictionary<string, string>(StringComparer.Ordinal);
            var inputs = Params(k, "inputs");
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i].Length == 0)
                {
                    continue;
                }
                if (!types.TryGetValue(node.Input[i], out var actual))
                {
                    problems.Add($"{where}: input {node.Input[i]} has no known type (produced by a node that failed)");
                    continue;
                }
                var parameter = ParamAt(inputs, i);
                if (parameter is null)
                {
                    problems.Add($"{where}: input {i} has no parameter in the kernel");
                    continue;
                }
                Admit(k, parameter.Value, actual, bound, where, problems);
            }
            var outputs = Params(k, "outputs");
            for (var i = 0; i < node.Output.Count; i++)
            {
                if (node.Output[i].Length == 0)
                {
                    continue;
                }
                var parameter = ParamAt(outputs, i);
                if (parameter is null)
                {
                    problems.Add($"{where}: output {i} has no parameter in the kernel");
                    continue;
                }
                var type = OutputType(k, node, parameter.Value, bound);
                if (type is null)
                {
                    problems.Add($"{where}: the kernel does not determine the type of output {parameter.Value.Name}");
                    continue;
                }
                Admit(k, parameter.Value, type, bound, where, problems);
                types[node.Output[i]] = type;
            }
            CheckAttributes(k, node, where, problems);
        }
        foreach (var output in graph.Output)
        {
            var declared = TypeName(output.Type.TensorType.ElemType);
            if (types.TryGetValue(output.Name, out var computed) && computed != declared)
            {
                problems.Add($"graph output {output.Name} is declared {declared} but its kernel produces {computed}");
            }
        }
        return problems;
    }

    private JsonElement? Find(string op, string domain)
    {
        foreach (var kernel in _root.GetProperty("kernels").EnumerateArray())
        {
            if (kernel.GetProperty("op").GetString() == op && kernel.GetProperty("domain").GetString() == domain)
            {
                return kernel;
            }
        }
        return null;
    }

    private bool CoversSchemaVersion(JsonElement kernel, string op, string domain, out string problem)
    {
        problem = "";
        if (!_root.GetProperty("schemaVersions").TryGetProperty(domain, out var versions) || !versions.TryGetProperty(op, out var v))
        {
            problem = $"the fixture has no schema version for {domain}.{op}";
            return false;
        }
        var schema = v.GetInt32();
        var range = kernel.GetProperty("versions");
        var since = range[0].GetInt32();
        var until = range[1].ValueKind == JsonValueKind.Null ? int.MaxValue : range[1].GetInt32();
        if (schema < since || schema > until)
        {
            problem = $"schema version {schema} is outside the kernel's [{since}, {(until == int.MaxValue ? "∞" : until)}]";
            return false;
        }
        return true;
    }

    private readonly record struct Param(string Name, string? Constraint, string? Fixed, bool Variadic);

    private static List<Param> Params(JsonElement kernel, string kind) =>
        [.. kernel.GetProperty(kind).EnumerateArray().Select(e =>
        {
            var text = e.GetString()!;
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            var name = text[..colon];
            var variadic = name.EndsWith("...", StringComparison.Ordinal);
            var type = text[(colon + 1)..];
            return type.StartsWith('=')
                ? new Param(name.TrimEnd('.'), null, type[1..], variadic)
                : new Param(name.TrimEnd('.'), type, null, variadic);
        })];

    private static Param? ParamAt(List<Param> parameters, int index)
    {
        if (index < parameters.Count)
        {
            return parameters[index];
        }
        return parameters.Count > 0 && parameters[^1].Variadic ? parameters[^1] : null;
    }

    private static void Admit(JsonElement kernel, Param parameter, string actual, Dictionary<string, string> bound, string where, List<string> problems)
    {
        if (parameter.Fixed is { } fixedType)
        {
            if (actual != fixedType)
            {
                problems.Add($"{where}: {parameter.Name} is {actual}; the kernel takes {fixedType}");
            }
            return;
        }
        var constraint = parameter.Constraint!;
        if (bound.TryGetValue(constraint, out var already) && already != actual)
        {
            problems.Add($"{where}: {parameter.Name} is {actual} but {constraint} is already {already}");
            return;
        }
        bound[constraint] = actual;
        var allowed = kernel.GetProperty("types").GetProperty(constraint);
        if (allowed.ValueKind == JsonValueKind.Null)
        {
            return; // not constrained by the registration
        }
        if (!allowed.EnumerateArray().Any(t => t.GetString() == actual))
        {
            problems.Add($"{where}: {parameter.Name} is {actual}; {constraint} admits {string.Join(", ", allowed.EnumerateArray().Select(t => t.GetString()))}");
        }
    }

    private static string? OutputType(JsonElement kernel, NodeProto node, Param parameter, Dictionary<string, string> bound)
    {
        if (parameter.Fixed is { } fixedType)
        {
            return fixedType;
        }
        if (node.OpType == "Cast" && node.Domain.Length == 0)
        {
            return TypeName((int)node.Attribute.Single(a => a.Name == "to").I);
        }
        if (bound.TryGetValue(parameter.Constraint!, out var type))
        {
            return type;
        }
        var allowed = kernel.GetProperty("types").GetProperty(parameter.Constraint!);
        return allowed.ValueKind == JsonValueKind.Array && allowed.GetArrayLength() == 1 ? allowed[0].GetString() : null;
    }

    private static void CheckAttributes(JsonElement kernel, NodeProto node, string where, List<string> problems)
    {
        if (!kernel.TryGetProperty("attributes", out var attributes))
        {
            return;
        }
        foreach (var attribute in attributes.EnumerateObject())
        {
            var value = node.Attribute.FirstOrDefault(a => a.Name == attribute.Name)?.I;
            if (value is not { } v || !attribute.Value.EnumerateArray().Any(a => a.GetInt64() == v))
            {
                problems.Add($"{where}: attribute {attribute.Name} = {value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "absent"}; the kernel handles {attribute.Value}");
            }
        }
    }

    /// <summary>ONNX element type name (as the kernel table writes it, without <c>tensor()</c>).</summary>
    public static string TypeName(int elemType) => elemType switch
    {
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        16 => "bfloat16",
        _ => $"type {elemType}",
    };
}
