using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Qwen.Inference.Chat;

/// <summary>
/// Parses model-written JSON leniently (trailing commas, comments, single-quoted strings, a surrounding code fence)
/// and returns compact JSON — a small stand-in for the <c>json5.loads</c> the reference evaluators use.
/// </summary>
public static class LenientJson
{
    private static readonly JsonDocumentOptions Options = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Compact JSON for <paramref name="text"/>, or null when it is not JSON even leniently.</summary>
    public static string? TryNormalize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var candidate = StripCodeFence(text.Trim());
        return TryParse(candidate) ?? TryParse(SingleToDoubleQuotes(candidate));
    }

    private static string? TryParse(string? text)
    {
        if (text is null) return null;
        try
        {
            using var document = JsonDocument.Parse(text, Options);
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream, WriterOptions)) document.RootElement.WriteTo(writer);
            return Encoding.UTF8.GetString(stream.ToArray());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string StripCodeFence(string text)
    {
        if (!text.StartsWith("```", StringComparison.Ordinal) || !text.EndsWith("```", StringComparison.Ordinal) || text.Length < 6) return text;
        var inner = text[3..^3];
        int nl = inner.IndexOf('\n');
        // Drop a language tag such as ```json.
        if (nl >= 0 && inner[..nl].All(char.IsAsciiLetterOrDigit)) inner = inner[(nl + 1)..];
        return inner.Trim();
    }

    // Rewrites 'single-quoted' strings as "double-quoted" ones, leaving double-quoted strings alone.
    private static string? SingleToDoubleQuotes(string text)
    {
        if (!text.Contains('\'')) return null;
        var sb = new StringBuilder(text.Length + 8);
        char quote = '\0';
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quote == '\0')
            {
                if (c is '"' or '\'') { quote = c; sb.Append('"'); }
                else sb.Append(c);
                continue;
            }
            if (c == '\\' && i + 1 < text.Length)
            {
                char n = text[++i];
                if (quote == '\'' && n == '\'') sb.Append('\'');
                else sb.Append('\\').Append(n);
                continue;
            }
            if (c == quote) { quote = '\0'; sb.Append('"'); continue; }
            if (quote == '\'' && c == '"') { sb.Append("\\\""); continue; }
            sb.Append(c);
        }
        return sb.ToString();
    }
}
