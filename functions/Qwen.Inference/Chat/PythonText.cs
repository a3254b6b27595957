namespace Qwen.Inference.Chat;

/// <summary>Python <c>str</c> whitespace helpers, so prompt text is trimmed exactly as the reference scripts trim it.</summary>
public static class PythonText
{
    /// <summary>Python <c>str.isspace</c> for one UTF-16 unit (Unicode White_Space plus U+001C…U+001F).</summary>
    public static bool IsSpace(char c) => c is (>= '\t' and <= '\r') or (>= '\x1C' and <= ' ') or '\x85' or '\xA0' or '\u1680'
        or (>= '\u2000' and <= '\u200A') or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000';

    /// <summary><c>s.lstrip('\n').rstrip()</c>, the normalization the reference applies to every message.</summary>
    public static string LStripNewlinesRStrip(string? s) => RStrip(LStripNewlines(s ?? string.Empty));

    /// <summary><c>s.lstrip('\n')</c>.</summary>
    public static string LStripNewlines(string s) => s.TrimStart('\n');

    /// <summary><c>s.rstrip()</c>.</summary>
    public static string RStrip(string s)
    {
        int end = s.Length;
        while (end > 0 && IsSpace(s[end - 1])) end--;
        return end == s.Length ? s : s[..end];
    }

    /// <summary><c>s.strip()</c>.</summary>
    public static string Strip(string s)
    {
        int start = 0;
        while (start < s.Length && IsSpace(s[start])) start++;
        return RStrip(s[start..]);
    }
}
