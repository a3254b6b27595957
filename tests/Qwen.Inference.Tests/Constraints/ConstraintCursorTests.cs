using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Qwen.Inference.Constraints;
using Qwen.Inference.Tests.Tokenization;
using Qwen.Inference.Tokenization;
using Xunit.Abstractions;

namespace Qwen.Inference.Tests.Constraints;

/// <summary>Token masks over the real Qwen vocabulary: the trie walk and its plain-token fast paths equal a brute-force check of every token.</summary>
public sealed class ConstraintCursorTests(ITestOutputHelper output)
{
    private static QwenTokenizer Tokenizer => SharedTokenizer.Instance;

    private static ConstraintCursor At(Grammar grammar, string prefix)
    {
        var cursor = TokenConstraint.Create(grammar, Tokenizer).Start();
        Assert.True(cursor.TryAdvanceBytes(Encoding.UTF8.GetBytes(prefix)), $"prefix '{prefix}' does not match");
        return cursor;
    }

    private static HashSet<int> Mask(ConstraintCursor cursor)
    {
        var bits = new ulong[VocabularyIndex.BitsetWords];
        cursor.ComputeAllowed(bits);
        var ids = new HashSet<int>();
        for (var id = 0; id < QwenTokenizer.VocabCount; id++)
        {
            if ((bits[id >> 6] & (1UL << id)) != 0)
            {
                ids.Add(id);
            }
        }
        return ids;
    }

    /// <summary>Every token checked one by one: its bytes fed to the matcher (no trie, no fast path).</summary>
    private static HashSet<int> BruteForce(ConstraintCursor cursor)
        => [.. Enumerable.Range(0, QwenTokenizer.VocabCount).Where(cursor.Allows)];

    public static TheoryData<string, string, string> States => new()
    {
        { "json_object", "", "start: only tokens opening an object" },
        { "json_object", "{\"ke", "free key string: plain fast path" },
        { "json_object", "{\"key\":", "value start" },
        { "json_object", "{\"key\": \"va", "free value string" },
        { "json_object", "{\"key\": \"a\\", "escape" },
        { "json_object", "{\"key\": \"a\\u0", "unicode escape" },
        { "json_object", "{\"key\": \"\u4f60", "after a whole CJK character" },
        { "json_object", "{\"key\": [1", "number inside an array" },
        { "json_object", "{\"key\": [1,\n  ", "whitespace gap" },
        { "json_value", "12", "complete but may continue" },
        { "json_value", "\"ab", "top-level string" },
        { "schema", "{\"name\":\"ab", "string with maxLength 4, 2 left" },
        { "schema", "{\"name\":\"abcd", "string full: only the closing quote" },
        { "schema", "{\"name\":\"a\",", "next property key" },
        { "schema", "{\"name\":\"a\",\"color\":", "enum value" },
        { "react", "I should search", "text before a forbidden line feed (exact fast path)" },
        { "open_text", "wow", "text whose follower is not forbidden (generic walk)" },
    };

    private static Grammar GrammarFor(string name) => name switch
    {
        "json_object" => Grammar.JsonObject(),
        "json_value" => Grammar.JsonValue(),
        "schema" => Grammar.JsonSchema(JsonDocument.Parse("""
            {"type":"object","properties":{"name":{"type":"string","maxLength":4},"color":{"enum":["red","green","blue"]},"n":{"type":"integer"}},
             "required":["name","color"],"additionalProperties":false}
            """).RootElement),
        "react" => Grammar.Sequence(Grammar.Text(40, "\n"), Grammar.Literal("\nAction: "), Grammar.OneOf(Grammar.Literal("search"), Grammar.Literal("calc"))),
        "open_text" => Grammar.Sequence(Grammar.Text(8), Grammar.Literal("!")),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(States))]
    public void ComputeAllowed_State_EqualsBruteForceOverVocabulary(string grammar, string prefix, string why)
    {
        var cursor = At(GrammarFor(grammar), prefix);
        var expected = BruteForce(cursor);
        var actual = Mask(cursor);
        Assert.True(expected.SetEquals(actual),
            $"{why}: {expected.Except(actual).Count()} allowed tokens missing (e.g. {string.Join(", ", expected.Except(actual).Take(5))}), {actual.Except(expected).Count()} extra (e.g. {string.Join(", ", actual.Except(expected).Take(5))})");
        Assert.NotEmpty(actual);
        Assert.DoesNotContain(actual, id => id >= QwenTokenizer.SpecialStartId && !cursor.IsComplete);
    }

    [Fact]
    public void ComputeAllowed_StringNearMaxLength_OnlyShortTokens()
    {
        var cursor = At(GrammarFor("schema"), "{\"name\":\"abc");
        var allowed = Mask(cursor);
        Assert.Contains(Tokenizer.GetTokenId("d"u8), allowed);
        Assert.Contains(Tokenizer.GetTokenId("\""u8), allowed);
        Assert.DoesNotContain(Tokenizer.GetTokenId("de"u8), allowed);
        Assert.DoesNotContain(QwenTokenizer.EndOfTextId, allowed);
    }

    [Fact]
    public void ComputeAllowed_Complete_AllowsEndTokensOnlyThen()
    {
        var open = At(Grammar.JsonValue(), "12");
        Assert.True(open.IsComplete);
        Assert.False(open.IsEnded);
        var allowed = Mask(open);
        Assert.Contains(QwenTokenizer.EndOfTextId, allowed);
        Assert.Contains(QwenTokenizer.ImEndId, allowed);
        Assert.DoesNotContain(QwenTokenizer.ImStartId, allowed);
        Assert.Contains(Tokenizer.GetTokenId("3"u8), allowed);

        var closed = At(Grammar.JsonObject(), "{\"a\": 1}");
        Assert.True(closed.IsEnded);
        Assert.Equal(new[] { QwenTokenizer.EndOfTextId, QwenTokenizer.ImEndId }, Mask(closed).Order());

        var inside = At(Grammar.JsonObject(), "{\"a\": 1");
        Assert.DoesNotContain(Mask(inside), id => id >= QwenTokenizer.SpecialStartId);
    }

    [Fact]
    public void Advance_MaskedToken_Throws_AndCloneIsIndependent()
    {
        var cursor = At(Grammar.JsonObject(), "{");
        var fork = cursor.Clone();
        cursor.Advance(Tokenizer.GetTokenId("}"u8));
        Assert.True(cursor.IsEnded);
        Assert.False(fork.IsComplete);
        Assert.Throws<InvalidOperationException>(() => fork.Advance(Tokenizer.GetTokenId("]"u8)));
        Assert.Throws<InvalidOperationException>(() => fork.Advance(QwenTokenizer.EndOfTextId));
        fork.Advance(Tokenizer.GetTokenId("\""u8));
        Assert.False(fork.IsComplete);
    }

    /// <summary>
    /// Walks real documents token by token: every next token is in the mask. Prints the per-token mask time (trie walk +
    /// apply to a 151,936-float row) as a rough order of magnitude on this machine, not a benchmark (tests/Qwen.Benchmarks --mask-cost is).
    /// </summary>
    [Theory]
    [InlineData("json_object", "{\"name\": \"Qwen-7B\", \"layers\": 32, \"rope\": {\"base\": 10000, \"ntk\": true}, \"tags\": [\"llm\", \"通义千问\", null, -1.5e-3], \"note\": \"a \\\"quoted\\\" word\\nand a line\"}")]
    [InlineData("schema", "{\"name\": \"Ann\", \"color\": \"green\", \"n\": 42}")]
    public void ApplyMask_RealDocument_EveryTokenAllowed(string grammar, string document)
    {
        var constraint = TokenConstraint.Create(GrammarFor(grammar), Tokenizer);
        var tokens = Tokenizer.Encode(document);
        var logits = new float[151936];
        var times = new List<double>();
        for (var round = 0; round < 3; round++)
        {
            var cursor = constraint.Start();
            foreach (var token in tokens)
            {
                logits.AsSpan().Fill(1f);
                var started = Stopwatch.GetTimestamp();
                cursor.ApplyMask(logits);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Assert.False(float.IsNegativeInfinity(logits[token]), $"token {token} '{Tokenizer.Decode([token])}' masked");
                cursor.Advance(token);
            }
            Assert.True(cursor.IsEnded);
        }
        times.Sort();
        output.WriteLine($"{grammar}: {tokens.Count} tokens, mask time per token median {times[times.Count / 2]:F3} ms, p90 {times[times.Count * 9 / 10]:F3} ms, max {times[^1]:F3} ms (rough, shared machine)");
    }
}
