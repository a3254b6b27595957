using Qwen.Inference.Constraints;
using Qwen.Inference.Tokenization;
using Qwen.Serving.Http;
using Qwen.Testing;

namespace Qwen.Serving.Tests.Http;

public sealed class QwenChatTemplateTests
{
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));
    private static readonly ToolDefinition Weather = new("get_weather", "Weather", """{"type":"object","properties":{"city":{"type":"string","maxLength":20}},"required":["city"],"additionalProperties":false}""");
    private readonly QwenChatTemplate _template = new();

    [Fact]
    public void Render_FreshTurnAndAfterToolResult_AssistantSoFarSaysWhereTheReplyStarts()
    {
        var fresh = _template.Render(Tokenizer.Value, [new ChatMessageInput("user", "Weather?", null, null, null)], [Weather], []);
        Assert.Equal("", fresh.AssistantSoFar);
        var afterTool = _template.Render(Tokenizer.Value,
            [
                new ChatMessageInput("user", "Weather?", null, null, null),
                new ChatMessageInput("assistant", null, null, [new ToolCallInput("c1", "get_weather", "{\"city\":\"Paris\"}")], null),
                new ChatMessageInput("tool", "sunny", null, null, "c1"),
            ],
            [Weather], []);
        Assert.EndsWith("\nObservation: sunny\nThought:", afterTool.AssistantSoFar, StringComparison.Ordinal);
        Assert.StartsWith("Thought:", afterTool.AssistantSoFar, StringComparison.Ordinal);
        var grammar = (SequenceGrammar)_template.ToolCallGrammar(afterTool, [Weather], legacyFunctions: false);
        Assert.Equal(" ", ((LiteralGrammar)grammar.Parts[0]).Value);
    }

    [Theory]
    [InlineData(false, "tools")]
    [InlineData(true, "functions")]
    public void ToolCallGrammar_UnsupportedKeyword_400NamingIt(bool legacy, string param)
    {
        var prompt = _template.Render(Tokenizer.Value, [new ChatMessageInput("user", "Hi", null, null, null)], [Weather], []);
        var bad = new ToolDefinition("lookup", null, """{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]+$"}}}""");
        var error = Assert.Throws<OpenAiException>(() => _template.ToolCallGrammar(prompt, [bad], legacy));
        Assert.Equal((400, param, "unsupported_schema"), (error.StatusCode, error.Param, error.Code));
        Assert.Contains("'pattern'", error.Message, StringComparison.Ordinal);
        Assert.Contains("lookup", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseReply_CallOfAToolNotOffered_IsText()
    {
        var reply = _template.ParseReply("Thought: x\nAction: rm\nAction Input: {}", ["get_weather"]);
        Assert.False(reply.IsToolCall);
        Assert.Equal("get_weather", _template.ParseReply("Thought: x\nAction: get_weather\nAction Input: {}", ["get_weather"]).ToolName);
    }
}
