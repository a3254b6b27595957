using System.Text;

namespace Qwen.Inference.Constraints;

/// <summary>
/// The vocabulary split for one kind of free text (JSON string bodies, or text without some characters), so a mask
/// inside such text does not walk the whole trie:
/// <list type="bullet">
/// <item><b>plain</b> tokens are whole, valid UTF-8 with no character that could end or escape the text: inside the
/// text at a character boundary each is allowed exactly when its length fits, so they are kept as a bitset plus a list
/// sorted by character count (the length buckets for maxLength);</item>
/// <item><b>dead</b> tokens can never continue the text (a control character inside a JSON string, invalid UTF-8);</item>
/// <item>the <b>rest</b> (a quote, a backslash, a forbidden character, or a character split at the token's end) go into
/// a small trie walked with the real grammar state.</item>
/// </list>
/// </summary>
internal sealed class PlainTokenSet
{
    private readonly ulong[] _all;
    private readonly int[] _idsByLength;
    private readonly int[] _countUpTo;

    private PlainTokenSet(ulong[] all, int[] idsByLength, int[] countUpTo, TokenTrie rest)
    {
        _all = all;
        _idsByLength = idsByLength;
        _countUpTo = countUpTo;
        Rest = rest;
    }

    /// <summary>Tokens that are neither plain nor dead: walked with the grammar.</summary>
    public TokenTrie Rest { get; }

    /// <summary>Number of plain tokens.</summary>
    public int PlainCount => _idsByLength.Length;

    /// <summary>Longest plain token in characters.</summary>
    public int MaxChars => _countUpTo.Length - 1;

    /// <summary>How a token's bytes read at a character boundary of this text.</summary>
    public enum TokenKind
    {
        Plain,
        Dead,
        Rest,
    }

    /// <summary>Sets the bits of plain tokens of at most <paramref name="remainingChars"/> characters.</summary>
    public void AddTo(Span<ulong> bits, int remainingChars)
    {
        if (remainingChars >= MaxChars)
        {
            for (var w = 0; w < _all.Length; w++)
            {
                bits[w] |= _all[w];
            }
            return;
        }
        if (remainingChars <= 0)
        {
            return;
        }
        var end = _countUpTo[remainingChars];
        for (var i = 0; i < end; i++)
        {
            var id = _idsByLength[i];
            bits[id >> 6] |= 1UL << id;
        }
    }

    /// <summary>Splits the regular tokens (<paramref name="tokenBytes"/>[id]) with <paramref name="classify"/>: its result and, for plain tokens, the character count.</summary>
    public static PlainTokenSet Build(byte[][] tokenBytes, int bitsetWords, Func<byte[], (TokenKind Kind, int Chars)> classify)
    {
        var all = new ulong[bitsetWords];
        var plain = new List<(int Id, int Chars)>();
        var rest = new List<int>();
        for (var id = 0; id < tokenBytes.Length; id++)
        {
            var (kind, chars) = classify(tokenBytes[id]);
            if (kind == TokenKind.Plain)
            {
                plain.Add((id, chars));
                all[id >> 6] |= 1UL << id;
            }
            else if (kind == TokenKind.Rest)
            {
                rest.Add(id);
            }
        }
        plain.Sort((a, b) => a.Chars != b.Chars ? a.Chars.CompareTo(b.Chars) : a.Id.CompareTo(b.Id));
        var maxChars = plain.Count == 0 ? 0 : plain[^1].Chars;
        var countUpTo = new int[maxChars + 1];
        foreach (var (_, chars) in plain)
        {
            countUpTo[chars]++;
        }
        for (var length = 1; length <= maxChars; length++)
        {
            countUpTo[length] += countUpTo[length - 1];
        }
        return new PlainTokenSet(all, [.. plain.Select(p => p.Id)], countUpTo, TokenTrie.Build(rest, id => tokenBytes[id]));
    }

    /// <summary>Classifies bytes read from a character boundary: a character in <paramref name="stops"/> makes the token "rest"; one in <paramref name="kills"/> (before any stop) or invalid UTF-8 makes it dead.</summary>
    public static (TokenKind Kind, int Chars) Classify(ReadOnlySpan<byte> bytes, Func<int, bool> stops, Func<int, bool> kills)
    {
        var chars = 0;
        while (!bytes.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(bytes, out var rune, out var consumed);
            if (status == System.Buffers.OperationStatus.NeedMoreData)
            {
                return (TokenKind.Rest, 0); // a character split across tokens: the grammar checks its bytes
            }
            if (status != System.Buffers.OperationStatus.Done)
            {
                return (TokenKind.Dead, 0);
            }
            if (stops(rune.Value))
            {
                return (TokenKind.Rest, 0);
            }
            if (kills(rune.Value))
            {
                return (TokenKind.Dead, 0);
            }
            chars++;
            bytes = bytes[consumed..];
        }
        return (TokenKind.Plain, chars);
    }
}
