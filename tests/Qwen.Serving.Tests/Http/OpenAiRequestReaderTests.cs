using System.Text;
using Qwen.Inference.Constraints;
using Qwen.Inference.Packaging;
using Qwen.Serving.Http;

namespace Qwen.Serving.Tests.Http;

public sealed class OpenAiRequestReaderTests
{
    private static ChatCompletionRequest Chat(string json)
    {
        using var doc = OpenAiRequestReader.ParseBody(Encoding.UTF8.GetBytes(json));
        return OpenAiRequestReader.ReadChat(doc.RootElement, 8);
    }

    [Fact]
    public void ReadChat_FullRequest_MapsEveryField()
    {
        var r = Chat("{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":\"s\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}]," +
            "\"temperature\":0.5,\"top_p\":0.9,\"top_k\":40,\"repetition_penalty\":1.05,\"max_tokens\":10,\"max_completion_tokens\":12,\"stop\":\"x\",\"n\":2,\"seed\":3," +
            "\"presence_penalty\":0.1,\"frequency_penalty\":-0.2,\"logit_bias\":{\"15\":-100},\"logprobs\":true,\"top_logprobs\":2,\"user\":\"u\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        Assert.Equal("m", r.Model);
        Assert.Equal([("system", "s"), ("user", "ab")], r.Messages.Select(m => (m.Role, m.Content!)));
        Assert.Equal(12, r.MaxTokens); // max_completion_tokens wins
        Assert.Equal(["x"], r.Stop);
        Assert.Equal(-100f, r.LogitBias![15]);
        Assert.True(r.Stream && r.IncludeUsage && r.Logprobs);
        Assert.Equal(2, r.TopLogprobs);
        var sampling = r.ToSampling(new GenerationDefaults(), choiceIndex: 1);
        Assert.Equal((true, 0.5, 0.9, 40, 1.05, 0.1, -0.2, 4L), (sampling.DoSample, sampling.Temperature, sampling.TopP, sampling.TopK, sampling.RepetitionPenalty, sampling.PresencePenalty, sampling.FrequencyPenalty, sampling.Seed!.Value));
    }

    [Fact]
    public void ToSampling_NothingSent_UsesQwenChatGenerationConfig()
    {
        var sampling = Chat("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}").ToSampling(new GenerationDefaults(), 0);
        Assert.Equal((true, 1.0, 0.8, 0, 1.1), (sampling.DoSample, sampling.Temperature, sampling.TopP, sampling.TopK, sampling.RepetitionPenalty));
        Assert.Null(sampling.Seed);
    }

    [Fact]
    public void ToSampling_TemperatureBelowOneHundredth_IsGreedy()
    {
        Assert.True(Chat("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"temperature\":0.005}").ToSampling(new GenerationDefaults(), 0).IsGreedy);
    }

    [Fact]
    public void ReadChat_ToolsAndAssistantToolCall_AreRead()
    {
        var r = Chat("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}," +
            "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"r\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"d\",\"parameters\":{\"type\":\"object\"}}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}");
        Assert.Equal(new ToolCallInput("c1", "f", "{}"), r.Messages[1].ToolCalls!.Single());
        Assert.Equal("c1", r.Messages[2].ToolCallId);
        Assert.Equal(new ToolDefinition("f", "d", "{\"type\":\"object\"}"), r.Tools.Single());
        Assert.Equal(new ToolChoice("function", "f"), r.ToolChoice);
        Assert.False(r.LegacyFunctions);
    }

    [Fact]
    public void ReadChat_LegacyFunctions_AreReadAsToolsAndFunctionMessagesAsTool()
    {
        var r = Chat("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"function_call\":{\"name\":\"f\",\"arguments\":\"{}\"}},{\"role\":\"function\",\"name\":\"f\",\"content\":\"r\"}]," +
            "\"functions\":[{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}],\"function_call\":\"auto\"}");
        Assert.True(r.LegacyFunctions);
        Assert.Equal("tool", r.Messages[2].Role);
        Assert.Equal("f", r.Messages[1].ToolCalls!.Single().Name);
    }

    [Fact]
    public void ReadChat_ToolChoiceNone_DropsTools()
    {
        var r = Chat("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":\"none\"}");
        Assert.Empty(r.Tools);
    }

    [Theory]
    [InlineData("{\"messages\":[]}", "messages")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"n\":9}", "n")]
    [InlineData("{\"messages\":[{\"role\":\"assistant\"}]}", "messages[0].content")]
    public void ReadChat_Invalid_NamesTheField(string json, string param)
    {
        var ex = Assert.Throws<OpenAiException>(() => Chat(json));
        Assert.Equal((400, param), (ex.StatusCode, ex.Param));
    }

    [Fact]
    public void ReadCompletion_PromptForms_AreAccepted()
    {
        using var a = OpenAiRequestReader.ParseBody(Encoding.UTF8.GetBytes("{\"prompt\":[\"hi\"],\"echo\":true,\"logprobs\":2}"));
        var text = OpenAiRequestReader.ReadCompletion(a.RootElement, 8);
        Assert.Equal(("hi", true, true, 2), (text.PromptText, text.Echo, text.Logprobs, text.TopLogprobs));
        using var b = OpenAiRequestReader.ParseBody(Encoding.UTF8.GetBytes("{\"prompt\":[[1,2,3]]}"));
        Assert.Equal([1, 2, 3], OpenAiRequestReader.ReadCompletion(b.RootElement, 8).PromptTokens!);
    }

    private const string User = "\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]";

    [Fact]
    public void ReadChat_ResponseFormatText_NoGrammar()
    {
        Assert.Null(Chat("{" + User + "}").ResponseGrammar);
        Assert.Null(Chat("{" + User + ",\"response_format\":{\"type\":\"text\"}}").ResponseGrammar);
        Assert.Null(Chat("{" + User + ",\"response_format\":null}").ResponseGrammar);
    }

    [Fact]
    public void ReadChat_ResponseFormatJsonObject_IsAnyObject()
    {
        var grammar = Assert.IsType<JsonGrammar>(Chat("{" + User + ",\"response_format\":{\"type\":\"json_object\"}}").ResponseGrammar);
        Assert.True(grammar.ObjectOnly);
    }

    [Fact]
    public void ReadChatAndCompletion_ResponseFormatJsonSchema_CarryTheSchema()
    {
        const string Format = "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"answer\",\"strict\":true,\"schema\":{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"],\"additionalProperties\":false}}}";
        var chat = Assert.IsType<JsonSchemaGrammar>(Chat("{" + User + "," + Format + "}").ResponseGrammar);
        Assert.Equal("boolean", chat.Schema.GetProperty("properties").GetProperty("ok").GetProperty("type").GetString());
        using var doc = OpenAiRequestReader.ParseBody(Encoding.UTF8.GetBytes("{\"prompt\":\"x\"," + Format + "}"));
        Assert.IsType<JsonSchemaGrammar>(OpenAiRequestReader.ReadCompletion(doc.RootElement, 8).ResponseGrammar);
    }

    [Fact]
    public void ReadChat_ResponseFormatWithToolChoiceNoneOrRequired_IsAccepted()
    {
        const string Tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]";
        const string Json = "\"response_format\":{\"type\":\"json_object\"}";
        Assert.NotNull(Chat("{" + User + "," + Tools + "," + Json + ",\"tool_choice\":\"none\"}").ResponseGrammar);
        Assert.Equal("required", Chat("{" + User + "," + Tools + "," + Json + ",\"tool_choice\":\"required\"}").ToolChoice.Mode);
        var refused = Assert.Throws<OpenAiException>(() => Chat("{" + User + "," + Tools + "," + Json + "}"));
        Assert.Equal("response_format", refused.Param);
    }
}
