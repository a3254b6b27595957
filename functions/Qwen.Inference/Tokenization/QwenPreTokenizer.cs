using System.Globalization;

namespace Qwen.Inference.Tokenization;

/// <summary>
/// Qwen-7B's pre-tokenization (PAT_STR, spec §4.2) as a scanner over code points:
/// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
/// </summary>
/// <remarks>
/// Background: .NET regex classifies UTF-16 code units, so astral letters and digits (surrogate pairs) would not match
/// <c>\p{L}</c>/<c>\p{N}</c>; the reference (Rust regex in tiktoken) works on code points. <c>\s</c> here is Unicode
/// White_Space as in Rust: it includes U+0085 and excludes U+FEFF. A lone surrogate is classified like U+FFFD (a symbol).
/// </remarks>
public static class QwenPreTokenizer
{
    private const byte Other = 0, Letter = 1, Number = 2, Space = 3, Newline = 4;
    private static readonly byte[] BmpClass = BuildBmpTable();

    /// <summary>Splits <paramref name="text"/> into pre-token pieces as (offset, length) in UTF-16 units.</summary>
    public static IEnumerable<(int Offset, int Length)> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (int pos = 0; pos < text.Length;)
        {
            int len = NextPieceLength(text, pos);
            yield return (pos, len);
            pos += len;
        }
    }

    /// <summary>The length (UTF-16 units) of the piece that starts at <paramref name="pos"/>.</summary>
    public static int NextPieceLength(ReadOnlySpan<char> text, int pos)
    {
        int cp = CodePointAt(text, pos, out int w0);
        byte k = Classify(cp);
        int next = pos + w0;

        // 1. English contractions, case-insensitive (Rust simple case folding: ſ U+017F folds to s).
        if (cp == '\'' && next < text.Length)
        {
            int n = ContractionLength(text, next);
            if (n > 0) return 1 + n;
        }

        // 2. [^\r\n\p{L}\p{N}]?\p{L}+
        if (k == Letter)
        {
            return SkipClass(text, next, Letter) - pos;
        }
        if (k is Other or Space && next < text.Length)
        {
            int cp1 = CodePointAt(text, next, out int w1);
            if (Classify(cp1) == Letter) return SkipClass(text, next + w1, Letter) - pos;
        }

        // 3. \p{N}, one code point.
        if (k == Number) return w0;

        // 4.  ?[^\s\p{L}\p{N}]+[\r\n]*
        if (k == Other)
        {
            return SkipCrLf(text, SkipClass(text, next, Other)) - pos;
        }
        if (cp == ' ' && next < text.Length && Classify(CodePointAt(text, next, out int w2)) == Other)
        {
            return SkipCrLf(text, SkipClass(text, next + w2, Other)) - pos;
        }

        // k is whitespace here. Find the maximal whitespace run, its last CR/LF and its last code point.
        int end = pos, afterLastNewline = -1, lastStart = pos;
        while (end < text.Length)
        {
            int c = CodePointAt(text, end, out int w);
            byte kc = Classify(c);
            if (kc is not (Space or Newline)) break;
            lastStart = end;
            end += w;
            if (kc == Newline) afterLastNewline = end;
        }
        // 5. \s*[\r\n]+ : backtracking ends the match just after the run's last CR/LF.
        if (afterLastNewline > 0) return afterLastNewline - pos;
        // 6. \s+(?!\S) : the whole run at the end of text, else all but its last code point.
        if (end == text.Length) return end - pos;
        if (lastStart > pos) return lastStart - pos;
        // 7. \s+ (a single whitespace code point before a non-space).
        return end - pos;
    }

    private static int ContractionLength(ReadOnlySpan<char> text, int i)
    {
        char a = Fold(text[i]);
        char b = i + 1 < text.Length ? Fold(text[i + 1]) : '\0';
        return a switch
        {
            's' or 't' or 'm' or 'd' => 1,
            'r' or 'v' when b == 'e' => 2,
            'l' when b == 'l' => 2,
            _ => 0,
        };

        static char Fold(char c) => c switch
        {
            >= 'A' and <= 'Z' => (char)(c + 32),
            '\u017F' => 's',
            _ => c,
        };
    }

    private static int SkipClass(ReadOnlySpan<char> text, int i, byte cls)
    {
        while (i < text.Length)
        {
            int cp = CodePointAt(text, i, out int w);
            if (Classify(cp) != cls) break;
            i += w;
        }
        return i;
    }

    private static int SkipCrLf(ReadOnlySpan<char> text, int i)
    {
        while (i < text.Length && text[i] is '\r' or '\n') i++;
        return i;
    }

    private static int CodePointAt(ReadOnlySpan<char> text, int i, out int width)
    {
        char c = text[i];
        if (!char.IsSurrogate(c))
        {
            width = 1;
            return c;
        }
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            width = 2;
            return char.ConvertToUtf32(c, text[i + 1]);
        }
        width = 1;
        return 0xFFFD;
    }

    private static byte Classify(int cp) => cp < 0x10000 ? BmpClass[cp] : ClassifySlow(cp);

    private static byte ClassifySlow(int cp)
    {
        if (IsWhiteSpace(cp)) return cp is '\r' or '\n' ? Newline : Space;
        return CharUnicodeInfo.GetUnicodeCategory(cp) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
            _ => Other,
        };
    }

    // Unicode White_Space (what Rust regex's \s means); not char.IsWhiteSpace, to keep the set explicit.
    private static bool IsWhiteSpace(int cp) => cp is (>= 0x09 and <= 0x0D) or 0x20 or 0x85 or 0xA0 or 0x1680
        or (>= 0x2000 and <= 0x200A) or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    private static byte[] BuildBmpTable()
    {
        var table = new byte[0x10000];
        for (int c = 0; c < 0x10000; c++)
        {
            table[c] = (c >= 0xD800 && c <= 0xDFFF) ? Other : ClassifySlow(c);
        }
        return table;
    }
}
