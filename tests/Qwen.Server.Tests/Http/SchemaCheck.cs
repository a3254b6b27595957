using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Http;

/// <summary>
/// A small JSON Schema checker for the subset constrained decoding supports (type, enum, const, properties, required,
/// additionalProperties false, items, minItems/maxItems, anyOf, minLength/maxLength), written independently of the server's grammar so the
/// tests check its output against the schema rather than against itself.
/// </summary>
public static class SchemaCheck
{
    /// <summary>Null when <paramref name="value"/> is valid against <paramref name="schema"/>; else where and why it is not.</summary>
    public static string? Validate(JsonElement value, JsonElement schema, string path = "$")
    {
        if (schema.TryGetProperty("const", out var constant) && !JsonEquals(value, constant))
        {
            return $"{path}: {value.GetRawText()} is not the const {constant.GetRawText()}";
        }
        if (schema.TryGetProperty("enum", out var options) && !options.EnumerateArray().Any(o => JsonEquals(value, o)))
        {
            return $"{path}: {value.GetRawText()} is not in the enum {options.GetRawText()}";
        }
        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            var failures = anyOf.EnumerateArray().Select(s => Validate(value, s, path)).ToList();
            if (failures.All(f => f is not null))
            {
                return $"{path}: no anyOf branch matches ({string.Join("; ", failures)})";
            }
        }
        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToArray() : [type.GetString()!];
            if (!types.Any(t => IsType(value, t)))
            {
                return $"{path}: {value.GetRawText()} is not of type {type.GetRawText()}";
            }
        }
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var length = new StringInfo(value.GetString()!).LengthInTextElements;
                var runes = value.GetString()!.EnumerateRunes().Count();
                if (schema.TryGetProperty("maxLength", out var max) && runes > max.GetInt32())
                {
                    return $"{path}: the string has {runes} characters; maxLength is {max.GetInt32()} ({length} text elements)";
                }
                if (schema.TryGetProperty("minLength", out var min) && runes < min.GetInt32())
                {
                    return $"{path}: the string has {runes} characters; minLength is {min.GetInt32()}";
                }
                break;
            case JsonValueKind.Object:
                var properties = schema.TryGetProperty("properties", out var p) ? p : default;
                foreach (var required in schema.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(e => e.GetString()!) : [])
                {
                    if (!value.TryGetProperty(required, out _))
                    {
                        return $"{path}: the required property '{required}' is missing";
                    }
                }
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in value.EnumerateObject())
                {
                    if (!seen.Add(property.Name))
                    {
                        return $"{path}: the property '{property.Name}' appears twice";
                    }
                    if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property.Name, out var sub))
                    {
                        if (Validate(property.Value, sub, $"{path}.{property.Name}") is { } bad)
                        {
                            return bad;
                        }
                    }
                    else if (schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.False)
                    {
                        return $"{path}: the property '{property.Name}' is not allowed";
                    }
                }
                break;
            case JsonValueKind.Array:
                var count = value.GetArrayLength();
                if (schema.TryGetProperty("maxItems", out var maxItems) && count > maxItems.GetInt32())
                {
                    return $"{path}: the array has {count} items; maxItems is {maxItems.GetInt32()}";
                }
                if (schema.TryGetProperty("minItems", out var minItems) && count < minItems.GetInt32())
                {
                    return $"{path}: the array has {count} items; minItems is {minItems.GetInt32()}";
                }
                if (schema.TryGetProperty("items", out var items))
                {
                    var i = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        if (Validate(item, items, $"{path}[{i++}]") is { } bad)
                        {
                            return bad;
                        }
                    }
                }
                break;
        }
        return null;
    }

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

    private static bool IsType(JsonElement value, string type) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var d) && d == decimal.Truncate(d),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => throw new ArgumentException($"type '{type}' is outside the subset", nameof(type)),
    };

    private static bool JsonEquals(JsonElement a, JsonElement b) => JsonElement.DeepEquals(a, b);
}
