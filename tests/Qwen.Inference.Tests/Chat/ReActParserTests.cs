using Qwen.Inference.Chat;

namespace Qwen.Inference.Tests.Chat;

public sealed class ReActParserTests
{
    [Fact]
    public void ParseOpenAiResponse_ToolCallWithObservation_ReturnsThoughtNameAndArgs()
    {
        var step = ReActParser.ParseOpenAiResponse("Thought: I need the weather.\nAction: get_weather\nAction Input: {\"city\": \"Paris\"}\nObservation:");
        Assert.True(step.IsToolCall);
        Assert.Equal("I need the weather.", step.Content);
        Assert.Equal("get_weather", step.ToolName);
        Assert.Equal("{\"city\": \"Paris\"}", step.RawArguments);
        Assert.Equal("{\"city\":\"Paris\"}", step.ArgumentsJson);
        Assert.Equal("function_call", step.FinishReason);
    }

    [Fact]
    public void ParseOpenAiResponse_SwallowedObservation_AddsItBackAndReadsArgsToEnd()
    {
        var step = ReActParser.ParseOpenAiResponse("Thought: x\nAction: get_weather\nAction Input: {'city': 'Paris',}  \n");
        Assert.Equal("get_weather", step.ToolName);
        Assert.Equal("{'city': 'Paris',}", step.RawArguments);
        Assert.Equal("{\"city\":\"Paris\"}", step.ArgumentsJson);
        Assert.Equal("x", step.Content);
    }

    [Fact]
    public void ParseOpenAiResponse_TwoCalls_UsesTheFirst()
    {
        var text = "Thought: a\nAction: one\nAction Input: {}\nObservation: r\nThought: b\nAction: two\nAction Input: {\"k\": 1}";
        Assert.Equal("one", ReActParser.ParseOpenAiResponse(text).ToolName);
        var latest = ReActParser.ParseLatestToolCall(text);
        Assert.Equal("two", latest.ToolName);
        Assert.Equal("{\"k\":1}", latest.ArgumentsJson);
    }

    [Fact]
    public void ParseOpenAiResponse_ActionNotOffered_StaysText()
    {
        var text = "Thought: the document says so.\nAction: delete_account\nAction Input: {}";
        var step = ReActParser.ParseOpenAiResponse(text, ["get_weather"]);
        Assert.False(step.IsToolCall);
        Assert.Equal(text, step.Content);
        var offered = ReActParser.ParseOpenAiResponse(text, ["get_weather", "delete_account"]);
        Assert.Equal("delete_account", offered.ToolName);
    }

    [Fact]
    public void ParseOpenAiResponse_ActionNotOfferedAfterFinalAnswer_KeepsTheAnswerText()
    {
        var step = ReActParser.ParseOpenAiResponse("Thought: done\nFinal Answer: see below\nAction: rm\nAction Input: {}", ["get_weather"]);
        Assert.False(step.IsToolCall);
        Assert.Equal("see below\nAction: rm\nAction Input: {}", step.Content);
    }

    [Fact]
    public void ParseOpenAiResponse_FinalAnswer_ReturnsTextAfterLastMarker()
    {
        var step = ReActParser.ParseOpenAiResponse("Thought: I now know the final answer.\nFinal Answer: It is 21 °C.");
        Assert.False(step.IsToolCall);
        Assert.Equal("It is 21 °C.", step.Content);
        Assert.Equal("stop", step.FinishReason);
    }

    [Fact]
    public void ParseOpenAiResponse_PlainText_ReturnedWhole()
    {
        Assert.Equal("Just chatting.", ReActParser.ParseOpenAiResponse("Just chatting.").Content);
    }

    [Fact]
    public void ParseOpenAiResponse_InvalidArguments_KeptRawAndFlagged()
    {
        var step = ReActParser.ParseOpenAiResponse("Thought: t\nAction: run\nAction Input: not json at all\nObservation:");
        Assert.Equal("not json at all", step.RawArguments);
        Assert.Null(step.ArgumentsJson);
        Assert.False(step.ArgumentsAreValidJson);
    }

    [Fact]
    public void ParseOpenAiResponse_ObservationBeforeActionInput_GivesEmptyArgsLikePythonSlicing()
    {
        // k < j even after adding Observation back (find returns the earlier one): text[j+14:k] is "".
        var step = ReActParser.ParseOpenAiResponse("Thought: t\nObservation: early\nAction: run\nAction Input: {\"a\": 1}");
        Assert.Equal("run", step.ToolName);
        Assert.Equal("", step.RawArguments);
    }

    [Fact]
    public void CutAfterFirstStop_DropsEndTokensAndKeepsStopWord()
    {
        Assert.Equal("Thought: t\nAction: a\nAction Input: {}\nObservation:",
            ReActTemplates.CutAfterFirstStop("Thought: t\nAction: a\nAction Input: {}\nObservation: made up<|im_end|><|endoftext|>"));
        Assert.Equal("Final Answer: done", ReActTemplates.CutAfterFirstStop("Final Answer: done<|im_end|>"));
    }

    [Theory]
    [InlineData("```json\n{\"a\": [1, 2,],}\n```", "{\"a\":[1,2]}")]
    [InlineData("{'q': 'it\\'s \"x\"'}", "{\"q\":\"it's \\\"x\\\"\"}")]
    [InlineData("{\"q\": \"中文\" /* c */}", "{\"q\":\"中文\"}")]
    public void LenientJson_CommonModelSlips_Normalized(string raw, string expected)
    {
        Assert.Equal(expected, LenientJson.TryNormalize(raw));
    }
}
