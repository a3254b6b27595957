using Qwen.Testing;
using System.ClientModel;
using Azure.AI.OpenAI;
using OpenAI.Chat;

namespace Qwen.Server.Tests.Forwarding;

/// <summary>The front before a worker started with <c>--model</c> on the tiny package (real engine, random weights): the official
/// clients get the same greedy tokens through the front as from the worker directly.</summary>
public sealed class RealEngineFrontTests : IAsyncLifetime
{
    private FrontAndWorker _pair = null!;
    private string _model = null!;

    public async Task InitializeAsync()
    {
        var package = await TinyPackage.GetAsync();
        _pair = await FrontAndWorker.StartAsync(["--model", package, "--max-batch-size", "4", "--threads", "1"]);
        using var client = _pair.CreateFrontClient();
        using var models = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("v1/models"));
        _model = models.RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;
    }

    public async Task DisposeAsync() => await _pair.DisposeAsync();

    [Fact]
    public async Task AzureOpenAiClient_ThroughFront_SameGreedyTokensAsDirect()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 };
        ChatMessage[] messages = [new UserChatMessage("Tell me a story about 你好.")];
        var viaFront = new AzureOpenAIClient(_pair.FrontUri, new ApiKeyCredential(FrontAndWorker.ClientKey)).GetChatClient(_model);
        var direct = new AzureOpenAIClient(_pair.WorkerUri, new ApiKeyCredential(FrontAndWorker.ServiceKey)).GetChatClient(_model);

        ChatCompletion a = await viaFront.CompleteChatAsync(messages, options);
        ChatCompletion b = await direct.CompleteChatAsync(messages, options);
        Assert.Equal(b.Content.Single().Text, a.Content.Single().Text);
        Assert.Equal(b.Usage.OutputTokenCount, a.Usage.OutputTokenCount);
        Assert.InRange(a.Usage.OutputTokenCount, 1, 12);

        var streamed = new System.Text.StringBuilder();
        await foreach (var update in viaFront.CompleteChatStreamingAsync(messages, options))
        {
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }
        }
        Assert.Equal(b.Content.Single().Text, streamed.ToString());

        var refused = new AzureOpenAIClient(_pair.WorkerUri, new ApiKeyCredential(FrontAndWorker.ClientKey)).GetChatClient(_model);
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => refused.CompleteChatAsync(messages, options));
        Assert.Equal(401, ex.Status);
    }

    [Fact]
    public async Task OpenAiNpmClient_ThroughFront_SameGreedyTokensAsDirect()
    {
        var env = new Dictionary<string, string> { ["QWEN_MODEL"] = _model };
        var viaFront = await NodeScript.RunAsync("openai-greedy.mjs", new Uri(_pair.FrontUri, "v1"), FrontAndWorker.ClientKey, env);
        var direct = await NodeScript.RunAsync("openai-greedy.mjs", new Uri(_pair.WorkerUri, "v1"), FrontAndWorker.ServiceKey, env);
        var text = direct.GetProperty("chat").GetProperty("content").GetString();
        Assert.Equal(text, viaFront.GetProperty("chat").GetProperty("content").GetString());
        Assert.Equal(text, viaFront.GetProperty("stream").GetProperty("text").GetString());
        Assert.Equal(text, direct.GetProperty("stream").GetProperty("text").GetString());
        Assert.Equal(
            direct.GetProperty("chat").GetProperty("usage").GetProperty("completion_tokens").GetInt32(),
            viaFront.GetProperty("stream").GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task JsonSchema_ThroughFront_OutputValidates(bool stream)
    {
        // The front passes bodies through, so response_format reaches the worker's engine and constrains it.
        const string Schema = """{"type":"object","properties":{"color":{"type":"string","enum":["red","green","blue"]},"ok":{"type":"boolean"}},"required":["color","ok"],"additionalProperties":false}""";
        using var client = _pair.CreateFrontClient();
        var body = "{\"model\":\"" + _model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"JSON\"}],\"max_tokens\":200,\"temperature\":1,\"seed\":1,\"stream\":" +
            (stream ? "true" : "false") + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"c\",\"schema\":" + Schema + "}}}";
        using var response = await client.PostAsync("v1/chat/completions", new System.Net.Http.StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, raw);
        string content;
        if (stream)
        {
            content = string.Concat(raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => e != "data: [DONE]")
                .Select(e => System.Text.Json.JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("choices")[0].GetProperty("delta"))
                .Select(d => d.TryGetProperty("content", out var c) ? c.GetString() : ""));
        }
        else
        {
            content = System.Text.Json.JsonDocument.Parse(raw).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        }
        using var value = System.Text.Json.JsonDocument.Parse(content);
        using var schema = System.Text.Json.JsonDocument.Parse(Schema);
        Assert.True(JsonSchemaSubset.Validate(value.RootElement, schema.RootElement) is null, content);
    }
}
