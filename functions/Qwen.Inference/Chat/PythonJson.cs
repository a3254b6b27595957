using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace Qwen.Inference.Chat;

/// <summary>
/// Re-serializes JSON exactly as Python's <c>json.dumps(obj, ensure_ascii=False)</c> would after <c>json.loads</c>:
/// <c>", "</c> and <c>": "</c> separators, key order kept, non-ASCII unescaped, floats in Python <c>repr</c> form.
/// </summary>
/// <remarks>Prompt templates embed tool parameters this way; any other spelling changes the prompt tokens.</remarks>
public static class PythonJson
{
    /// <summary>Dumps the JSON text <paramref name="json"/> Python-style.</summary>
    /// <exception cref="JsonException"><paramref name="json"/> is not valid JSON.</exception>
    public static string Dumps(string json)
    {
        using var document = JsonDocument.Parse(json);
        var sb = new StringBuilder(json.Length + 16);
        Write(document.RootElement, sb);
        return sb.ToString();
    }

    /// <summary>Dumps a JSON element Python-style.</summary>
    public static string Dumps(JsonElement element)
    {
        var sb = new StringBuilder();
        Write(element, sb);
        return sb.ToString();
    }

    private static void Write(JsonElement e, StringBuilder sb)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                // Python dicts keep the first position of a key and the last value given for it.
                var order = new List<string>();
                var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var p in e.EnumerateObject())
                {
                    if (!values.ContainsKey(p.Name)) order.Add(p.Name);
                    values[p.Name] = p.Value;
                }
                sb.Append('{');
                for (int i = 0; i < order.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    WriteString(order[i], sb);
                    sb.Append(": ");
                    Write(values[order[i]], sb);
                }
                sb.Append('}');
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                bool first = true;
                foreach (var item in e.EnumerateArray())
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    Write(item, sb);
                }
                sb.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(e.GetString()!, sb);
                break;
            case JsonValueKind.Number:
                sb.Append(FormatNumber(e.GetRawText()));
                break;
            case JsonValueKind.True: sb.Append("true"); break;
            case JsonValueKind.False: sb.Append("false"); break;
            default: sb.Append("null"); break;
        }
    }

    /// <summary>Python's spelling of a JSON number: ints stay ints (arbitrary size); anything with '.', 'e' is a float.</summary>
    internal static string FormatNumber(string raw)
    {
        if (raw.IndexOfAny(['.', 'e', 'E']) < 0)
        {
            return BigInteger.Parse(raw, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
        }
        double value = double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
        return FloatRepr(value);
    }

    /// <summary>Python <c>repr(float)</c>: shortest round-trip digits; scientific when exponent &lt; -4 or ≥ 16.</summary>
    public static string FloatRepr(double value)
    {
        if (double.IsPositiveInfinity(value)) return "Infinity";
        if (double.IsNegativeInfinity(value)) return "-Infinity";
        if (double.IsNaN(value)) return "NaN";
        // "R" gives the shortest round-trip digits (as Python's repr), as "123.45", "1E-05" or "1.5E+20".
        var shortest = value.ToString("R", CultureInfo.InvariantCulture);
        bool negative = shortest.StartsWith('-') || (value == 0 && double.IsNegative(value));
        var s = shortest.TrimStart('-');
        // Extract the digits and the decimal exponent from either "123.45", "1E-05" or "1.5E+20".
        int exp = 0;
        int ePos = s.IndexOfAny(['E', 'e']);
        if (ePos >= 0)
        {
            exp = int.Parse(s[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            s = s[..ePos];
        }
        int dot = s.IndexOf('.');
        string digits = dot >= 0 ? s.Remove(dot, 1) : s;
        int pointPos = (dot >= 0 ? dot : s.Length) + exp; // digits[0..pointPos] is the integer part
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; pointPos--; }
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) { digits = "0"; pointPos = 1; }
        int decpt = pointPos; // value = 0.d1d2… × 10^decpt
        var sb = new StringBuilder();
        if (negative) sb.Append('-');
        if (digits == "0")
        {
            sb.Append("0.0");
        }
        else if (decpt > -4 && decpt <= 16)
        {
            if (decpt <= 0)
            {
                sb.Append("0.").Append('0', -decpt).Append(digits);
            }
            else if (decpt >= digits.Length)
            {
                sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
            }
            else
            {
                sb.Append(digits, 0, decpt).Append('.').Append(digits, decpt, digits.Length - decpt);
            }
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            int e10 = decpt - 1;
            sb.Append('e').Append(e10 < 0 ? '-' : '+').Append(Math.Abs(e10).ToString("00", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static void WriteString(string s, StringBuilder sb)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
