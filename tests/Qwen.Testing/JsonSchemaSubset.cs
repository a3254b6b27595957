using System.Text;
using System.Text.Json;

namespace Qwen.Testing;

/// <summary>
/// An independent validator for the schema subset constrained decoding supports, over parsed JSON (it shares no code
/// with the grammar compiler): returns the first violation, or null. JSON Schema semantics, except that properties must
/// appear in declared order, as constrained decoding generates them. Shared by the engine and HTTP tests.
/// </summary>
public static class JsonSchemaSubset
{
    /// <summary>The first way <paramref name="value"/> breaks <paramref name="schema"/>, or null when it is valid.</summary>
    public static string? Validate(JsonElement value, JsonElement schema) => Check(schema, value, null, "$");

    /// <summary>True when <paramref name="text"/> is a prefix of some JSON text (what a generation cut off by max_tokens leaves).</summary>
    public static bool IsJsonPrefix(string text)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text), isFinalBlock: false, state: default);
        try
        {
            while (reader.Read())
            {
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? Check(JsonElement schema, JsonElement value, JsonElement? root, string at)
    {
        root ??= schema;
        if (schema.ValueKind == JsonValueKind.True)
        {
            return null;
        }
        if (schema.TryGetProperty("$ref", out var reference))
        {
            var target = root.Value;
            foreach (var part in reference.GetString()!.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                target = target.GetProperty(part);
            }
            return Check(target, value, root, at);
        }
        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            return anyOf.EnumerateArray().Any(s => Check(s, value, root, at) is null) ? null : $"{at}: matches no anyOf alternative";
        }
        if (schema.TryGetProperty("const", out var constant))
        {
            return JsonElement.DeepEquals(constant, value) ? null : $"{at}: not the const value";
        }
        if (schema.TryGetProperty("enum", out var values))
        {
            return values.EnumerateArray().Any(v => JsonElement.DeepEquals(v, value)) ? null : $"{at}: not in enum";
        }
        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToArray() : [type.GetString()!];
            if (!types.Any(t => HasType(value, t)))
            {
                return $"{at}: {value.ValueKind} is not {string.Join("|", types)}";
            }
        }
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var length = value.GetString()!.EnumerateRunes().Count();
                if (schema.TryGetProperty("maxLength", out var max) && length > max.GetInt32())
                {
                    return $"{at}: {length} characters > maxLength";
                }
                if (schema.TryGetProperty("minLength", out var min) && length < min.GetInt32())
                {
                    return $"{at}: {length} characters < minLength";
                }
                return null;
            case JsonValueKind.Array:
                var count = value.GetArrayLength();
                if (schema.TryGetProperty("maxItems", out var maxItems) && count > maxItems.GetInt32())
                {
                    return $"{at}: {count} items > maxItems";
                }
                if (schema.TryGetProperty("minItems", out var minItems) && count < minItems.GetInt32())
                {
                    return $"{at}: {count} items < minItems";
                }
                if (schema.TryGetProperty("items", out var items))
                {
                    var i = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        if (Check(items, item, root, $"{at}[{i++}]") is { } error)
                        {
                            return error;
                        }
                    }
                }
                return null;
            case JsonValueKind.Object:
                return ValidateObject(schema, value, root.Value, at);
            default:
                return null;
        }
    }

    private static string? ValidateObject(JsonElement schema, JsonElement value, JsonElement root, string at)
    {
        var declared = schema.TryGetProperty("properties", out var properties) ? properties.EnumerateObject().Select(p => p.Name).ToList() : [];
        var required = schema.TryGetProperty("required", out var list) ? list.EnumerateArray().Select(r => r.GetString()!).ToHashSet() : [];
        var closed = schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.False;
        var last = -1;
        foreach (var member in value.EnumerateObject())
        {
            var index = declared.IndexOf(member.Name);
            if (index < 0)
            {
                if (closed)
                {
                    return $"{at}: property '{member.Name}' is not allowed";
                }
                continue;
            }
            if (index <= last)
            {
                return $"{at}: property '{member.Name}' is out of declared order";
            }
            last = index;
            required.Remove(member.Name);
            if (Check(properties.GetProperty(member.Name), member.Value, root, $"{at}.{member.Name}") is { } error)
            {
                return error;
            }
        }
        return required.Count == 0 ? null : $"{at}: required '{required.First()}' is missing";
    }

    private static bool HasType(JsonElement value, string type) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var d) && d == decimal.Truncate(d),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => false,
    };
}
