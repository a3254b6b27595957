using System.Text;
using System.Text.Json;
using Qwen.Inference.Constraints;

namespace Qwen.Inference.Tests.Constraints;

/// <summary>Exact acceptance and rejection of byte strings by every grammar kind (the matcher alone, no tokenizer).</summary>
public sealed class ByteMatcherTests
{
    /// <summary>"complete" when the bytes are a whole match, "prefix" when a proper prefix of one, "reject" otherwise.</summary>
    internal static string Match(Grammar grammar, byte[] bytes)
    {
        var state = ByteMatcher.Advance(ByteMatcher.Start(GrammarCompiler.Compile(grammar)), bytes);
        return state.Length == 0 ? "reject" : ByteMatcher.IsComplete(state) ? "complete" : "prefix";
    }

    internal static string Match(Grammar grammar, string text) => Match(grammar, Encoding.UTF8.GetBytes(text));

    [Theory]
    [InlineData("abc", "complete")]
    [InlineData("ab", "prefix")]
    [InlineData("", "prefix")]
    [InlineData("abd", "reject")]
    [InlineData("abcd", "reject")]
    public void Literal_Bytes_MatchExactly(string text, string expected) => Assert.Equal(expected, Match(Grammar.Literal("abc"), text));

    [Theory]
    [InlineData("Action: search", "complete")]
    [InlineData("Action: lookup", "complete")]
    [InlineData("Action: look", "prefix")]
    [InlineData("Action: searchx", "reject")]
    [InlineData("Action: ", "prefix")]
    [InlineData("Action:search", "reject")]
    public void SequenceOfOneOf_Bytes_MatchEitherAlternative(string text, string expected)
        => Assert.Equal(expected, Match(Grammar.Sequence(Grammar.Literal("Action: "), Grammar.OneOf(Grammar.Literal("search"), Grammar.Literal("lookup"))), text));

    [Theory]
    [InlineData("ab", "complete")]
    [InlineData("abc", "complete")]
    [InlineData("abcd", "reject")]
    public void OneOf_SharedPrefix_KeepsBothAlternatives(string text, string expected)
        => Assert.Equal(expected, Match(Grammar.OneOf(Grammar.Literal("ab"), Grammar.Literal("abc")), text));

    [Theory]
    [InlineData("", "complete")]
    [InlineData("héllo", "complete")]
    [InlineData("你好世界", "complete")]
    [InlineData("12345", "complete")]
    [InlineData("123456", "reject")]
    [InlineData("a\nb", "reject")]
    [InlineData("a|b", "reject")]
    [InlineData("😀😀😀😀😀", "complete")]
    public void Text_MaxCharsAndForbidden_CountsScalarValues(string text, string expected)
        => Assert.Equal(expected, Match(Grammar.Text(5, "\n|"), text));

    [Fact]
    public void Text_SplitCharacter_IsPrefixUntilComplete()
    {
        var bytes = Encoding.UTF8.GetBytes("你");
        Assert.Equal("prefix", Match(Grammar.Text(5), bytes[..1]));
        Assert.Equal("prefix", Match(Grammar.Text(5), bytes[..2]));
        Assert.Equal("complete", Match(Grammar.Text(5), bytes));
    }

    [Theory]
    [InlineData(new byte[] { 0xC0, 0x80 })] // overlong NUL
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // surrogate D800
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // above U+10FFFF
    [InlineData(new byte[] { 0x80 })] // lone continuation
    [InlineData(new byte[] { 0xE4, 0x41 })] // lead without continuation
    [InlineData(new byte[] { 0xFF })]
    public void Text_InvalidUtf8_IsRejected(byte[] bytes)
    {
        Assert.Equal("reject", Match(Grammar.Text(10), bytes));
        Assert.Equal("reject", Match(Grammar.JsonValue(), new byte[] { (byte)'"' }.Concat(bytes).ToArray()));
    }

    [Fact]
    public void TextThenLiteral_TextMayEndBeforeTheLiteral()
    {
        var grammar = Grammar.Sequence(Grammar.Text(20, "\n"), Grammar.Literal("\nAction: "), Grammar.OneOf(Grammar.Literal("a"), Grammar.Literal("b")));
        Assert.Equal("complete", Match(grammar, "I will look\nAction: b"));
        Assert.Equal("complete", Match(grammar, "\nAction: a"));
        Assert.Equal("prefix", Match(grammar, "I will look\nAct"));
        Assert.Equal("reject", Match(grammar, "I will look\nActing"));
        // Without the line feed forbidden, text and literal overlap: both readings stay alive.
        var open = Grammar.Sequence(Grammar.Text(20), Grammar.Literal("!"));
        Assert.Equal("complete", Match(open, "wow!"));
        Assert.Equal("complete", Match(open, "wow!!"));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("0")]
    [InlineData("-0.5e+10")]
    [InlineData("12.25E-3")]
    [InlineData("true")]
    [InlineData("false")]
    [InlineData("null")]
    [InlineData("\"\"")]
    [InlineData("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uFFFF\"")]
    [InlineData("\"你好 😀\"")]
    [InlineData("{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}")]
    [InlineData("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}")]
    [InlineData("[ true , false ]")]
    public void JsonValue_ValidJson_IsComplete(string json)
    {
        Assert.Equal("complete", Match(Grammar.JsonValue(), json));
        using var _ = JsonDocument.Parse(json); // the cases are valid JSON indeed
    }

    [Theory]
    [InlineData("01")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("+1")]
    [InlineData("1e")]
    [InlineData("tru")]
    [InlineData("nul")]
    [InlineData("[1,]")]
    [InlineData("{\"a\"}")]
    [InlineData("{\"a\":1,}")]
    [InlineData("{a:1}")]
    [InlineData("'a'")]
    [InlineData("\"a\nb\"")]
    [InlineData("\"\\x\"")]
    [InlineData("\"\\u12g4\"")]
    [InlineData("\"\\ud83d\\ude00\"")] // escaped surrogates are refused (write the character raw)
    [InlineData(" {}")] // no whitespace around the whole value
    [InlineData("{} ")]
    [InlineData("{}{}")]
    public void JsonValue_InvalidOrRefused_IsNotComplete(string json)
    {
        var result = Match(Grammar.JsonValue(), json);
        Assert.NotEqual("complete", result);
    }

    [Theory]
    [InlineData("\"\\ud7ff\"", "complete")]
    [InlineData("\"\\ue000\"", "complete")]
    [InlineData("[1", "prefix")]
    [InlineData("{\"a\":", "prefix")]
    [InlineData("\"abc", "prefix")]
    [InlineData("[1,]", "reject")]
    [InlineData("01", "reject")]
    public void JsonValue_Prefixes_AreLiveUntilWrong(string json, string expected) => Assert.Equal(expected, Match(Grammar.JsonValue(), json));

    [Theory]
    [InlineData("{}", "complete")]
    [InlineData("{\"a\": [1]}", "complete")]
    [InlineData("[]", "reject")]
    [InlineData("1", "reject")]
    [InlineData("\"a\"", "reject")]
    public void JsonObject_OnlyObjects(string json, string expected) => Assert.Equal(expected, Match(Grammar.JsonObject(), json));

    [Fact]
    public void JsonWhitespace_IsBounded()
    {
        Assert.Equal("complete", Match(Grammar.JsonValue(), "[" + new string(' ', JsonWhitespace.MaxBytes) + "1]"));
        Assert.Equal("reject", Match(Grammar.JsonValue(), "[" + new string(' ', JsonWhitespace.MaxBytes + 1)));
        Assert.Equal("complete", Match(Grammar.JsonValue(), "[\r\n  1\r\n]"));
        Assert.Equal("reject", Match(Grammar.JsonValue(), "[\n\n1]"));
        // Every gap has its own budget.
        var gap = new string(' ', JsonWhitespace.MaxBytes);
        Assert.Equal("complete", Match(Grammar.JsonValue(), $"{{{gap}\"a\"{gap}:{gap}1{gap},{gap}\"b\":2{gap}}}"));
    }

    [Fact]
    public void JsonInsideText_Composes()
    {
        var grammar = Grammar.Sequence(Grammar.Literal("Action Input: "), Grammar.JsonObject(), Grammar.Literal("\nObservation:"));
        Assert.Equal("complete", Match(grammar, "Action Input: {\"q\": \"x\"}\nObservation:"));
        Assert.Equal("reject", Match(grammar, "Action Input: {\"q\": \"x\"} \nObservation:"));
    }
}
