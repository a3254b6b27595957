using System.Text;
using Qwen.Inference.Chat;
using Qwen.Inference.Constraints;

namespace Qwen.Inference.Tests.Chat;

public sealed class ReActGrammarTests
{
    private static readonly QwenToolDefinition Weather = new("get_weather", "Weather", "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":5}},\"required\":[\"city\"],\"additionalProperties\":false}");
    private static readonly QwenToolDefinition Clock = new("utc_now", "Clock", null);

    [Theory]
    [InlineData("", "Thought: ")]
    [InlineData("Thought: x\nAction: utc_now\nAction Input: {}\nObservation: 12:00\nThought:", " ")]
    [InlineData("Thought: I now know the final answer.\nFinal Answer: hi", "\nThought: ")]
    public void ToolCall_AssistantSoFar_StartsWhereThePromptLeftOff(string assistantSoFar, string start)
    {
        var grammar = Assert.IsType<SequenceGrammar>(ReActGrammar.ToolCall([Weather, Clock], assistantSoFar));
        Assert.Equal(start, Assert.IsType<LiteralGrammar>(grammar.Parts[0]).Value);
        var thought = Assert.IsType<TextGrammar>(grammar.Parts[1]);
        Assert.Equal(ReActGrammar.DefaultMaxThoughtChars, thought.MaxChars);
        Assert.Contains("\n", thought.ForbiddenChars, StringComparison.Ordinal);
        Assert.Equal("\nAction: ", Assert.IsType<LiteralGrammar>(grammar.Parts[2]).Value);
    }

    [Fact]
    public void ToolCall_EveryAlternative_ParsesBackToThatTool()
    {
        var tools = new[] { Weather, Clock };
        var grammar = (SequenceGrammar)ReActGrammar.ToolCall(tools);
        var calls = Assert.IsType<OneOfGrammar>(grammar.Parts[3]);
        Assert.Equal(2, calls.Alternatives.Count);
        for (var i = 0; i < tools.Length; i++)
        {
            // The shortest text of each branch (a one-character thought, the smallest arguments) is what the parser must read.
            var text = Example(grammar, i);
            var step = ReActParser.ParseOpenAiResponse(text, tools.Select(t => t.Name).ToArray());
            Assert.True(step.IsToolCall, text);
            Assert.Equal(tools[i].Name, step.ToolName);
            Assert.Equal("x", step.Content);
        }
    }

    [Fact]
    public void ToolCall_OneTool_HasNoChoice()
    {
        var grammar = (SequenceGrammar)ReActGrammar.ToolCall([Clock]);
        var call = Assert.IsType<SequenceGrammar>(grammar.Parts[3]);
        Assert.Equal("utc_now\nAction Input: ", Assert.IsType<LiteralGrammar>(call.Parts[0]).Value);
        Assert.IsType<JsonGrammar>(call.Parts[1]);
        Assert.Equal("Thought: x\nAction: utc_now\nAction Input: {}", Example(grammar, 0));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("{}")]
    [InlineData("{\"type\":\"object\"}")]
    public void Arguments_NoSchema_IsAnyObject(string? parameters)
    {
        var grammar = Assert.IsType<JsonGrammar>(ReActGrammar.Arguments(new QwenToolDefinition("f", null, parameters)));
        Assert.True(grammar.ObjectOnly);
    }

    [Fact]
    public void Arguments_Schema_IsTheSchema()
    {
        var grammar = Assert.IsType<JsonSchemaGrammar>(ReActGrammar.Arguments(Weather));
        Assert.Equal("object", grammar.Schema.GetProperty("type").GetString());
    }

    [Fact]
    public void ToolCall_NoTools_Throws() => Assert.Throws<ArgumentException>(() => ReActGrammar.ToolCall([]));

    // A short text the grammar accepts: one character of free text, "{}" for JSON, the chosen alternative of the last OneOf.
    private static string Example(Grammar grammar, int choice)
    {
        var sb = new StringBuilder();
        Write(grammar);
        return sb.ToString();

        void Write(Grammar g)
        {
            switch (g)
            {
                case LiteralGrammar l: sb.Append(l.Value); break;
                case SequenceGrammar s: foreach (var p in s.Parts) Write(p); break;
                case OneOfGrammar o: Write(o.Alternatives[choice]); break;
                case TextGrammar: sb.Append('x'); break;
                case JsonGrammar: sb.Append("{}"); break;
                case JsonSchemaGrammar: sb.Append("{\"city\":\"Paris\"}"); break;
                default: throw new InvalidOperationException(g.GetType().Name);
            }
        }
    }
}
