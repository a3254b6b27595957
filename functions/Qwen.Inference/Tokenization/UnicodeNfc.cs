using System.Collections.Frozen;
using System.Text;

namespace Qwen.Inference.Tokenization;

/// <summary>
/// Unicode NFC (canonical composition) from our own tables, matching Python's <c>unicodedata.normalize("NFC")</c>
/// (the reference tokenizer's normalizer).
/// </summary>
/// <remarks>
/// Background: the solution runs with <c>InvariantGlobalization=true</c>; there <see cref="string.Normalize()"/> returns
/// non-ASCII text unchanged (checked on .NET 10), so NFC must not depend on ICU. Tables come from
/// <c>gen_nfc_data.py</c> (Python unicodedata, version in <see cref="NfcData.UnicodeVersion"/>).
/// </remarks>
public static class UnicodeNfc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly byte[] BmpClass = new byte[0x10000];
    private static readonly FrozenDictionary<int, byte> AstralClass;
    private static readonly FrozenDictionary<int, int[]> Decomposition;
    private static readonly FrozenDictionary<long, int> Composition;
    // Per BMP code unit: true when the unit can be skipped by the quick check (class 0, NFC_QC = Yes, not a surrogate).
    private static readonly bool[] BmpQuickYes = new bool[0x10000];
    private static readonly FrozenSet<int> AstralNotQuickYes;

    static UnicodeNfc()
    {
        var astral = new Dictionary<int, byte>();
        foreach (var packed in NfcData.CombiningClasses)
        {
            int cp = packed >> 8;
            var cls = (byte)(packed & 0xFF);
            if (cp < 0x10000) BmpClass[cp] = cls; else astral[cp] = cls;
        }
        AstralClass = astral.ToFrozenDictionary();

        var decomposition = new Dictionary<int, int[]>();
        var data = NfcData.Decompositions;
        for (int i = 0; i < data.Length;)
        {
            int cp = data[i], n = data[i + 1];
            decomposition[cp] = data.Slice(i + 2, n).ToArray();
            i += 2 + n;
        }
        Decomposition = decomposition.ToFrozenDictionary();

        var composition = new Dictionary<long, int>();
        var comp = NfcData.Compositions;
        for (int i = 0; i < comp.Length; i += 3)
        {
            composition[Key(comp[i], comp[i + 1])] = comp[i + 2];
        }
        Composition = composition.ToFrozenDictionary();

        var astralNo = new HashSet<int>();
        Array.Fill(BmpQuickYes, true);
        for (int c = 0xD800; c <= 0xDFFF; c++) BmpQuickYes[c] = false;
        for (int c = VBase; c < VBase + VCount; c++) BmpQuickYes[c] = false;
        for (int c = TBase + 1; c < TBase + TCount; c++) BmpQuickYes[c] = false;
        void Mark(int cp)
        {
            if (cp < 0x10000) BmpQuickYes[cp] = false; else astralNo.Add(cp);
        }
        foreach (var packed in NfcData.CombiningClasses) Mark(packed >> 8);
        foreach (var cp in NfcData.QuickCheckNo) Mark(cp);
        foreach (var cp in NfcData.QuickCheckMaybe) Mark(cp);
        AstralNotQuickYes = astralNo.ToFrozenSet();
    }

    /// <summary>Returns <paramref name="text"/> in NFC; the same instance when it already is (the common case).</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int first = FirstUnsafeIndex(text);
        if (first < 0) return text;
        // Restart from the last starter before the first unsafe unit: nothing before it can change.
        int start = first;
        while (start > 0 && !IsQuickYesAt(text, start - 1, out _)) start--;
        if (start > 0) start--;
        while (start > 0 && char.IsLowSurrogate(text[start])) start--;
        var sb = new StringBuilder(text.Length + 8);
        sb.Append(text, 0, start);
        NormalizeSlow(text.AsSpan(start), sb);
        return sb.ToString();
    }

    /// <summary>True when <paramref name="text"/> is already NFC.</summary>
    public static bool IsNormalized(string text) => string.Equals(Normalize(text), text, StringComparison.Ordinal);

    /// <summary>The canonical combining class of a code point (0 for starters).</summary>
    public static int GetCombiningClass(int cp)
        => cp < 0x10000 ? BmpClass[cp] : AstralClass.TryGetValue(cp, out var c) ? c : 0;

    private static int FirstUnsafeIndex(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < 0x300) continue;
            if (!IsQuickYesAt(text, i, out bool pair)) return i;
            if (pair) i++;
        }
        return -1;
    }

    private static bool IsQuickYesAt(string text, int i, out bool pair)
    {
        pair = false;
        char c = text[i];
        if (BmpQuickYes[c]) return true;
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            pair = true;
            return !AstralNotQuickYes.Contains(char.ConvertToUtf32(c, text[i + 1]));
        }
        // Lone surrogates are left as they are by the slow path too; treat them as unsafe only for simplicity.
        return false;
    }

    private static void NormalizeSlow(ReadOnlySpan<char> text, StringBuilder output)
    {
        var cps = new List<int>(text.Length + 8);
        for (int i = 0; i < text.Length;)
        {
            int cp;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                cp = char.ConvertToUtf32(text[i], text[i + 1]);
                i += 2;
            }
            else
            {
                cp = text[i++]; // lone surrogates pass through unchanged
            }
            Decompose(cp, cps);
        }
        ReorderMarks(cps);
        Compose(cps);
        foreach (var cp in cps)
        {
            if (cp < 0x10000) output.Append((char)cp);
            else output.Append(char.ConvertFromUtf32(cp));
        }
    }

    private static void Decompose(int cp, List<int> output)
    {
        int s = cp - SBase;
        if (s >= 0 && s < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (Decomposition.TryGetValue(cp, out var parts))
        {
            foreach (var p in parts) Decompose(p, output);
            return;
        }
        output.Add(cp);
    }

    // Canonical ordering: a stable sort of each run of non-starters by combining class.
    private static void ReorderMarks(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int cls = GetCombiningClass(cps[i]);
            if (cls == 0) continue;
            int j = i;
            var cp = cps[i];
            while (j > 0)
            {
                int prev = GetCombiningClass(cps[j - 1]);
                if (prev == 0 || prev <= cls) break;
                cps[j] = cps[j - 1];
                j--;
            }
            cps[j] = cp;
        }
    }

    private static void Compose(List<int> cps)
    {
        if (cps.Count == 0) return;
        int starter = -1, write = 0, lastClass = -1;
        for (int read = 0; read < cps.Count; read++)
        {
            int cp = cps[read];
            int cls = GetCombiningClass(cp);
            if (starter >= 0)
            {
                // Not blocked: nothing between, or everything between has a lower non-zero class.
                bool blocked = lastClass != -1 && (lastClass == 0 || lastClass >= cls);
                if (!blocked && TryCompose(cps[starter], cp, out int composite))
                {
                    cps[starter] = composite;
                    continue;
                }
            }
            if (cls == 0)
            {
                starter = write;
                lastClass = -1;
            }
            else
            {
                lastClass = cls;
            }
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        int l = first - LBase, v = second - VBase;
        if (l >= 0 && l < LCount && v >= 0 && v < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = first - SBase, t = second - TBase;
        if (s >= 0 && s < SCount && s % TCount == 0 && t > 0 && t < TCount)
        {
            composite = first + t;
            return true;
        }
        return Composition.TryGetValue(Key(first, second), out composite);
    }

    private static long Key(int a, int b) => ((long)a << 21) | (uint)b;
}
