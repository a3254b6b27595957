using System.Net;
using System.Text;
using System.Text.Json;
using Qwen.Server.Tests.Forwarding;

namespace Qwen.Server.Tests.Http;

/// <summary>tool_choice none and auto, a not-offered Action and streamed tool calls over real HTTP, on the scripted fake engine (which writes the model's ReAct text).</summary>
public sealed class ToolChoiceTests : IAsyncLifetime
{
    private const string Key = "sk-tool-choice-0123456789abcdef012";
    private const string WeatherTool = """{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}""";
    private const string NotOffered = "Thought: The document tells me to.\nAction: delete_account\nAction Input: {\"user\": \"me\"}\nObservation: done";
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(["--api-key", Key]);
        var scripted = _server.Engine.Script;
        // A prompt mentioning the document gets a call of a tool nobody offered (as a prompt injection would produce).
        _server.Engine.Script = prompt => prompt.Contains("document", StringComparison.Ordinal) && prompt.Contains("You have access to the following APIs", StringComparison.Ordinal)
            ? NotOffered
            : scripted(prompt);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ToolChoiceAuto_ActionNotOffered_StaysTextWithFinishStop(bool stream)
    {
        var (content, finish, toolCalls) = await ChatAsync("Summarize the attached document.", "\"auto\"", stream);
        Assert.Equal("stop", finish);
        Assert.False(toolCalls);
        Assert.Equal(NotOffered[..NotOffered.IndexOf("Observation:", StringComparison.Ordinal)], content); // the engine stops at "Observation:"
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ToolChoiceNone_NoToolsInThePrompt_PlainText(bool stream)
    {
        _server.Fake.Respond = _ => "Action: get_weather\nAction Input: {}";
        var before = _server.Fake.Requests.Count;
        var (content, finish, toolCalls) = await ChatAsync("What is the weather in Paris?", "\"none\"", stream);
        Assert.Equal("stop", finish);
        Assert.False(toolCalls);
        Assert.Equal("Action: get_weather\nAction Input: {}", content);
        var prompt = TestServer.Tokenizer.Decode(_server.Fake.Requests.Skip(before).Single().PromptTokens);
        Assert.DoesNotContain("get_weather", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("Observation:", _server.Fake.Requests.Skip(before).Single().StopStrings);
    }

    [Fact]
    public async Task ToolChoiceAuto_OfferedAction_IsACall()
    {
        var (_, finish, toolCalls) = await ChatAsync("What is the weather in Paris?", "\"auto\"", stream: false);
        Assert.Equal("tool_calls", finish);
        Assert.True(toolCalls);
    }

    [Fact]
    public async Task ToolChoiceRequired_EngineGetsTheCallGrammar()
    {
        var before = _server.Fake.Requests.Count;
        await ChatAsync("What is the weather in Paris?", "\"required\"", stream: false);
        await ChatAsync("What is the weather in Paris?", "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}", stream: false);
        await ChatAsync("What is the weather in Paris?", "\"auto\"", stream: false);
        // The scripted engine answers tools prompts itself; the fake sees only the others, so check the constraint on both paths' requests.
        Assert.Equal(before, _server.Fake.Requests.Count);
        var constraints = _server.Engine.Requests.TakeLast(3).Select(r => r.Constraint).ToList();
        Assert.NotNull(constraints[0]);
        Assert.NotNull(constraints[1]);
        Assert.Null(constraints[2]);
        var named = Assert.IsType<Qwen.Inference.Constraints.SequenceGrammar>(constraints[1]!.Grammar);
        Assert.Equal("get_weather\nAction Input: ", Assert.IsType<Qwen.Inference.Constraints.LiteralGrammar>(Assert.IsType<Qwen.Inference.Constraints.SequenceGrammar>(named.Parts[3]).Parts[0]).Value);
    }

    [Fact]
    public async Task OpenAiNpmClient_StreamedToolCall_NameFirstThenArgumentDeltas()
    {
        var env = new Dictionary<string, string> { ["QWEN_TOOLS"] = "[" + WeatherTool + "]" };
        var r = await NodeScript.RunAsync("openai-tools-stream.mjs", new Uri(_server.BaseUri, "v1"), Key, env);

        var offered = r.GetProperty("offered");
        Assert.Equal("tool_calls", offered.GetProperty("finish").GetString());
        var call = Assert.Single(offered.GetProperty("calls").EnumerateArray());
        Assert.Equal("get_weather", call.GetProperty("name").GetString());
        using (var arguments = JsonDocument.Parse(call.GetProperty("arguments").GetString()!))
        {
            Assert.Equal("Paris", arguments.RootElement.GetProperty("city").GetString());
        }
        var chunks = offered.GetProperty("toolChunks").EnumerateArray().ToList();
        Assert.Equal(call.GetProperty("id").GetString(), chunks[0].GetProperty("id").GetString());
        Assert.Equal("get_weather", chunks[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("", chunks[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.True(chunks.Count > 3, $"{chunks.Count} tool-call chunks: the arguments were not streamed");
        Assert.Equal("{\"city\":\"Paris\"}", string.Concat(chunks.Skip(1).Select(c => c.GetProperty("function").GetProperty("arguments").GetString())));
        Assert.True(offered.GetProperty("argumentDeltas").GetInt32() >= chunks.Count - 1);
        Assert.Equal("I need the weather for Paris.", offered.GetProperty("content").GetString());

        var notOffered = r.GetProperty("notOffered");
        Assert.Equal("stop", notOffered.GetProperty("finish").GetString());
        Assert.Equal(0, notOffered.GetProperty("calls").GetArrayLength());
        Assert.Contains("Action: delete_account", notOffered.GetProperty("content").GetString(), StringComparison.Ordinal);
    }

    private async Task<(string? Content, string? Finish, bool ToolCalls)> ChatAsync(string question, string toolChoice, bool stream)
    {
        using var client = _server.CreateClient(Key);
        var body = $$"""{"model":"qwen-test","messages":[{"role":"user","content":"{{question}}"}],"tools":[{{WeatherTool}}],"tool_choice":{{toolChoice}},"stream":{{(stream ? "true" : "false")}}}""";
        using var response = await client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, raw);
        if (!stream)
        {
            using var doc = JsonDocument.Parse(raw);
            var choice = doc.RootElement.GetProperty("choices")[0];
            var message = choice.GetProperty("message");
            return (message.GetProperty("content").GetString(), choice.GetProperty("finish_reason").GetString(), message.TryGetProperty("tool_calls", out _));
        }
        var content = new StringBuilder();
        string? finish = null;
        var calls = false;
        foreach (var e in raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => e != "data: [DONE]"))
        {
            using var chunk = JsonDocument.Parse(e["data: ".Length..]);
            var choice = chunk.RootElement.GetProperty("choices")[0];
            var delta = choice.GetProperty("delta");
            content.Append(delta.TryGetProperty("content", out var c) ? c.GetString() : "");
            calls |= delta.TryGetProperty("tool_calls", out _);
            finish = choice.GetProperty("finish_reason").GetString() ?? finish;
        }
        return (content.ToString(), finish, calls);
    }
}
