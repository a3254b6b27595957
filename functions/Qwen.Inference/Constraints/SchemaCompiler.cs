using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Qwen.Inference.Constraints;

/// <summary>
/// Compiles the supported JSON Schema subset (docs/structured-output.md) to matcher nodes, refusing everything else
/// with the keyword at fault.
/// </summary>
internal sealed class SchemaCompiler
{
    /// <summary>Keywords that only describe and never constrain: accepted and ignored.</summary>
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "description", "title", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions",
    };

    /// <summary>Keywords that constrain and are implemented.</summary>
    private static readonly HashSet<string> Supported = new(StringComparer.Ordinal)
    {
        "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "enum", "const", "anyOf", "minLength", "maxLength", "$ref",
    };

    private static readonly JsonWriterOptions CompactJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    private readonly JsonElement _root;
    private readonly Dictionary<string, ReferenceNode> _references = new(StringComparer.Ordinal);

    private SchemaCompiler(JsonElement root) => _root = root;

    /// <exception cref="UnsupportedSchemaException">A keyword or shape outside the subset.</exception>
    public static MatchNode Compile(JsonElement schema) => new SchemaCompiler(schema).Compile(schema, "", []);

    /// <param name="schema">The subschema.</param>
    /// <param name="path">Its JSON Pointer.</param>
    /// <param name="unconsumed">References entered since the last object or array: meeting one again would loop without reading a byte.</param>
    private MatchNode Compile(JsonElement schema, string path, HashSet<string> unconsumed)
    {
        switch (schema.ValueKind)
        {
            case JsonValueKind.True:
                return JsonValueNode.Any;
            case JsonValueKind.False:
                throw new UnsupportedSchemaException("false", path, $"The schema at {Where(path)} is false: nothing can match it.");
            case JsonValueKind.Object:
                break;
            default:
                throw new UnsupportedSchemaException("type", path, $"The schema at {Where(path)} is a {schema.ValueKind}; a schema is an object or a boolean.");
        }

        var constraining = new List<string>();
        foreach (var property in schema.EnumerateObject())
        {
            if (Supported.Contains(property.Name))
            {
                constraining.Add(property.Name);
            }
            else if (!Annotations.Contains(property.Name))
            {
                throw Unsupported(property.Name, path);
            }
        }

        if (schema.TryGetProperty("$ref", out var reference))
        {
            Alone("$ref", constraining, path);
            return Reference(reference, path, unconsumed);
        }
        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            Alone("anyOf", constraining, path);
            var alternatives = ArrayValue(anyOf, "anyOf", path);
            return Choice([.. alternatives.Select((a, i) => Compile(a, $"{path}/anyOf/{i}", unconsumed))]);
        }
        if (schema.TryGetProperty("const", out var constant))
        {
            return new LiteralNode(CanonicalJson(constant));
        }
        if (schema.TryGetProperty("enum", out var values))
        {
            return new LiteralSetNode(ArrayValue(values, "enum", path).Select(CanonicalJson));
        }

        var types = Types(schema, path);
        if (types.Count == 0)
        {
            return JsonValueNode.Any;
        }
        return Choice([.. types.Select(type => type switch
        {
            "object" => ObjectNode(schema, path),
            "array" => ArrayNode(schema, path),
            "string" => StringNode(schema, path),
            "number" => JsonNumberNode.Number,
            "integer" => JsonNumberNode.Integer,
            "boolean" => Choice([JsonValueNode.True, JsonValueNode.False]),
            "null" => JsonValueNode.Null,
            _ => throw new UnsupportedSchemaException("type", path, $"Type '{type}' at {Where(path)} is not a JSON Schema type."),
        })]);
    }

    /// <summary>The declared types, or the one implied by the keywords present (none: any value).</summary>
    private static List<string> Types(JsonElement schema, string path)
    {
        if (schema.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.String)
            {
                return [type.GetString()!];
            }
            if (type.ValueKind == JsonValueKind.Array && type.GetArrayLength() > 0 && type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String))
            {
                return [.. type.EnumerateArray().Select(t => t.GetString()!).Distinct(StringComparer.Ordinal)];
            }
            throw new UnsupportedSchemaException("type", path, $"'type' at {Where(path)} must be a type name or a non-empty array of type names.");
        }
        if (Has(schema, "properties", "required", "additionalProperties"))
        {
            return ["object"];
        }
        if (Has(schema, "items", "minItems", "maxItems"))
        {
            return ["array"];
        }
        return Has(schema, "minLength", "maxLength") ? ["string"] : [];
    }

    private MatchNode ObjectNode(JsonElement schema, string path)
    {
        var closed = false;
        if (schema.TryGetProperty("additionalProperties", out var additional))
        {
            closed = additional.ValueKind switch
            {
                JsonValueKind.False => true,
                JsonValueKind.True => false,
                _ => throw new UnsupportedSchemaException("additionalProperties", path,
                    $"'additionalProperties' at {Where(path)} must be true or false; a schema for extra properties is not supported."),
            };
        }
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var requiredList))
        {
            foreach (var name in ArrayValue(requiredList, "required", path, allowEmpty: true))
            {
                required.Add(name.ValueKind == JsonValueKind.String
                    ? name.GetString()!
                    : throw new UnsupportedSchemaException("required", path, $"'required' at {Where(path)} must list property names."));
            }
        }
        if (!schema.TryGetProperty("properties", out var properties))
        {
            if (required.Count > 0)
            {
                throw new UnsupportedSchemaException("required", path, $"'required' at {Where(path)} names properties that 'properties' does not declare.");
            }
            // No declared properties: closed means exactly {}, open means any object.
            return closed ? new SchemaObjectNode([]) : JsonValueNode.Any.Object;
        }
        if (properties.ValueKind != JsonValueKind.Object)
        {
            throw new UnsupportedSchemaException("properties", path, $"'properties' at {Where(path)} must be an object.");
        }
        var compiled = new List<SchemaProperty>();
        foreach (var property in properties.EnumerateObject())
        {
            var value = Compile(property.Value, $"{path}/properties/{Escape(property.Name)}", []);
            compiled.Add(new SchemaProperty(new LiteralNode(JsonString(property.Name)), value, required.Remove(property.Name)));
        }
        if (required.Count > 0)
        {
            throw new UnsupportedSchemaException("required", path, $"'required' at {Where(path)} names '{required.First()}', which 'properties' does not declare.");
        }
        return new SchemaObjectNode([.. compiled]);
    }

    private MatchNode ArrayNode(JsonElement schema, string path)
    {
        var item = (MatchNode)JsonValueNode.Any;
        if (schema.TryGetProperty("items", out var items))
        {
            item = items.ValueKind is JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False
                ? Compile(items, $"{path}/items", [])
                : throw new UnsupportedSchemaException("items", path, $"'items' at {Where(path)} must be one schema; tuple forms are not supported.");
        }
        var min = Count(schema, "minItems", path) ?? 0;
        var max = Count(schema, "maxItems", path) ?? int.MaxValue;
        if (min > max)
        {
            throw new UnsupportedSchemaException("minItems", path, $"'minItems' ({min}) at {Where(path)} is above 'maxItems' ({max}).");
        }
        return new JsonArrayNode(item, min, max);
    }

    private static JsonStringNode StringNode(JsonElement schema, string path)
    {
        var min = Count(schema, "minLength", path) ?? 0;
        var max = Count(schema, "maxLength", path) ?? int.MaxValue;
        if (min > max)
        {
            throw new UnsupportedSchemaException("minLength", path, $"'minLength' ({min}) at {Where(path)} is above 'maxLength' ({max}).");
        }
        return min == 0 && max == int.MaxValue ? JsonStringNode.Free : new JsonStringNode(min, max);
    }

    private MatchNode Reference(JsonElement reference, string path, HashSet<string> unconsumed)
    {
        var pointer = reference.ValueKind == JsonValueKind.String ? reference.GetString()! : "";
        if (!pointer.StartsWith('#'))
        {
            throw new UnsupportedSchemaException("$ref", path, $"'$ref' at {Where(path)} is '{pointer}'; only references inside the schema ('#/$defs/…') are supported.");
        }
        if (unconsumed.Contains(pointer))
        {
            throw new UnsupportedSchemaException("$ref", path, $"'$ref' '{pointer}' at {Where(path)} refers back to itself without an object or array in between.");
        }
        if (_references.TryGetValue(pointer, out var known))
        {
            return known;
        }
        var target = Resolve(pointer[1..]) ?? throw new UnsupportedSchemaException("$ref", path, $"'$ref' '{pointer}' at {Where(path)} points to nothing in the schema.");
        var node = new ReferenceNode();
        _references[pointer] = node;
        node.Target = Compile(target, pointer[1..], [.. unconsumed, pointer]);
        return node;
    }

    private JsonElement? Resolve(string pointer)
    {
        var current = _root;
        if (pointer.Length == 0)
        {
            return current;
        }
        if (pointer[0] != '/')
        {
            return null;
        }
        foreach (var raw in pointer[1..].Split('/'))
        {
            var token = raw.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(token, out var child))
            {
                current = child;
            }
            else if (current.ValueKind == JsonValueKind.Array && int.TryParse(token, out var i) && i >= 0 && i < current.GetArrayLength())
            {
                current = current[i];
            }
            else
            {
                return null;
            }
        }
        return current;
    }

    private static MatchNode Choice(MatchNode[] alternatives) => alternatives.Length == 1 ? alternatives[0] : new ChoiceNode(alternatives);

    private static void Alone(string keyword, List<string> constraining, string path)
    {
        var other = constraining.FirstOrDefault(k => k != keyword);
        if (other is not null)
        {
            throw new UnsupportedSchemaException(keyword, path, $"'{keyword}' at {Where(path)} must stand alone (besides annotations); it is combined with '{other}'.");
        }
    }

    private static List<JsonElement> ArrayValue(JsonElement value, string keyword, string path, bool allowEmpty = false)
    {
        if (value.ValueKind != JsonValueKind.Array || (!allowEmpty && value.GetArrayLength() == 0))
        {
            throw new UnsupportedSchemaException(keyword, path, $"'{keyword}' at {Where(path)} must be a{(allowEmpty ? "n" : " non-empty")} array.");
        }
        return [.. value.EnumerateArray()];
    }

    private static int? Count(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return null;
        }
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var count) && count >= 0
            ? count
            : throw new UnsupportedSchemaException(keyword, path, $"'{keyword}' at {Where(path)} must be a non-negative integer.");
    }

    private static bool Has(JsonElement schema, params string[] keywords) => keywords.Any(k => schema.TryGetProperty(k, out _));

    private static UnsupportedSchemaException Unsupported(string keyword, string path) => new(keyword, path,
        $"JSON Schema keyword '{keyword}' at {Where(path)} is not supported by constrained decoding. Supported: {string.Join(", ", Supported.Order(StringComparer.Ordinal))} (annotations such as description are ignored).");

    private static string Where(string path) => path.Length == 0 ? "the schema root" : path;

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    /// <summary>The value as compact JSON (non-ASCII written raw): how a const or enum value is generated.</summary>
    private static byte[] CanonicalJson(JsonElement value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, CompactJson))
        {
            value.WriteTo(writer);
        }
        return buffer.ToArray();
    }

    private static byte[] JsonString(string text)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, CompactJson))
        {
            writer.WriteStringValue(text);
        }
        return buffer.ToArray();
    }
}
