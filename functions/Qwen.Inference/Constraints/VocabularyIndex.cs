using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Constraints;

/// <summary>
/// What constrained decoding precomputes about a tokenizer's vocabulary: every regular token's bytes, the token trie,
/// and the plain-token splits of free text. Built once per tokenizer (a few hundred milliseconds) and cached for its lifetime.
/// </summary>
/// <remarks>Thread-safe; special tokens (151643 and up) are not in it: they never match a grammar.</remarks>
internal sealed class VocabularyIndex
{
    private static readonly ConditionalWeakTable<QwenTokenizer, VocabularyIndex> Cache = new();

    private readonly Lazy<PlainTokenSet> _jsonString;
    private readonly ConcurrentDictionary<string, Lazy<PlainTokenSet>> _text = new(StringComparer.Ordinal);

    private VocabularyIndex(QwenTokenizer tokenizer)
    {
        var bytes = new byte[QwenTokenizer.SpecialStartId][];
        for (var id = 0; id < bytes.Length; id++)
        {
            bytes[id] = tokenizer.GetRegularBytes(id).ToArray();
        }
        TokenBytes = bytes;
        Trie = TokenTrie.Build(Enumerable.Range(0, bytes.Length).ToArray(), id => bytes[id]);
        _jsonString = new(() => PlainTokenSet.Build(TokenBytes, BitsetWords, b => PlainTokenSet.Classify(b, c => c is '"' or '\\', c => c < 0x20)));
    }

    /// <summary>Words of a token bitset: one bit per id of the whole vocabulary (specials included).</summary>
    public const int BitsetWords = (QwenTokenizer.VocabCount + 63) / 64;

    /// <summary>Bytes of every regular token, by id.</summary>
    public byte[][] TokenBytes { get; }

    /// <summary>The trie of all regular tokens.</summary>
    public TokenTrie Trie { get; }

    /// <summary>The split for JSON string bodies: a quote or backslash leaves the fast path, a control character kills.</summary>
    public PlainTokenSet JsonStringTokens => _jsonString.Value;

    /// <summary>The index of <paramref name="tokenizer"/>, built on first use.</summary>
    public static VocabularyIndex For(QwenTokenizer tokenizer) => Cache.GetValue(tokenizer, t => new VocabularyIndex(t));

    /// <summary>The split for free text without <paramref name="forbidden"/>'s characters.</summary>
    public PlainTokenSet TextTokens(string forbidden) => _text.GetOrAdd(forbidden, f => new Lazy<PlainTokenSet>(() =>
    {
        var runes = f.EnumerateRunes().Select(r => r.Value).ToHashSet();
        return PlainTokenSet.Build(TokenBytes, BitsetWords, b => PlainTokenSet.Classify(b, runes.Contains, _ => false));
    })).Value;
}
