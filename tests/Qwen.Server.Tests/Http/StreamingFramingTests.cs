using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Qwen.Server.Tests.Http;

/// <summary>The exact bytes of streamed responses, as OpenAI frames them.</summary>
public sealed class StreamingFramingTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        // Spec §4.7 vector: [9707, 11, 1879, 0, 2585, 525, 498, 3351, 30].
        _server.Fake.Respond = _ => "Hello, world! How are you today?";
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ChatStream_WithIncludeUsage_HasExactOpenAiFraming()
    {
        using var client = _server.CreateClient();
        var body = "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
        using var response = await client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var raw = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync());
        var (id, created) = IdAndCreated(raw);
        string Chunk(string delta, string finish) =>
            $"data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":\"qwen-test\",\"choices\":[{{\"index\":0,\"delta\":{{{delta}}},\"logprobs\":null,\"finish_reason\":{finish}}}],\"usage\":null}}\n\n";
        var expected = new StringBuilder();
        expected.Append(Chunk("\"role\":\"assistant\",\"content\":\"\"", "null"));
        foreach (var piece in new[] { "Hello", ",", " world", "!", " How", " are", " you", " today", "?" })
        {
            expected.Append(Chunk($"\"content\":\"{piece}\"", "null"));
        }
        expected.Append(Chunk("", "\"stop\""));
        // Prompt: default system + "Hi" in ChatML is 20 tokens (spec §5.1); the reply is 9.
        expected.Append($"data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":\"qwen-test\",\"choices\":[],\"usage\":{{\"prompt_tokens\":20,\"completion_tokens\":9,\"total_tokens\":29,\"prompt_tokens_details\":{{\"cached_tokens\":0}}}}}}\n\n");
        expected.Append("data: [DONE]\n\n");
        Assert.Equal(expected.ToString(), raw);
    }

    [Fact]
    public async Task ChatStream_WithoutIncludeUsage_OmitsUsageField()
    {
        using var client = _server.CreateClient();
        var body = "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true,\"max_tokens\":2}";
        using var response = await client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var raw = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync());
        var (id, created) = IdAndCreated(raw);
        string Chunk(string delta, string finish) =>
            $"data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":\"qwen-test\",\"choices\":[{{\"index\":0,\"delta\":{{{delta}}},\"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n";
        var expected = Chunk("\"role\":\"assistant\",\"content\":\"\"", "null") + Chunk("\"content\":\"Hello\"", "null") +
            Chunk("\"content\":\",\"", "null") + Chunk("", "\"length\"") + "data: [DONE]\n\n";
        Assert.Equal(expected, raw);
    }

    [Fact]
    public async Task CompletionStream_TokenIdPrompt_HasExactTextCompletionFraming()
    {
        using var client = _server.CreateClient();
        var body = "{\"model\":\"qwen-test\",\"prompt\":[9707, 11],\"stream\":true,\"max_tokens\":3}";
        using var response = await client.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var raw = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync());
        var (id, created) = IdAndCreated(raw);
        string Chunk(string text, string finish) =>
            $"data: {{\"id\":\"{id}\",\"object\":\"text_completion\",\"created\":{created},\"model\":\"qwen-test\",\"choices\":[{{\"text\":\"{text}\",\"index\":0,\"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n";
        var expected = Chunk("Hello", "null") + Chunk(",", "null") + Chunk(" world", "null") + Chunk("", "\"length\"") + "data: [DONE]\n\n";
        Assert.Equal(expected, raw);
        Assert.Equal([9707, 11], _server.Fake.Requests.Last().PromptTokens);
    }

    [Fact]
    public async Task ChatStream_ClientDisconnects_CancelsGeneration()
    {
        _server.Fake.TokenDelay = TimeSpan.FromMilliseconds(50);
        _server.Fake.Respond = _ => string.Concat(Enumerable.Repeat("word ", 400));
        using var client = _server.CreateClient();
        var body = "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true}";
        using (var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") })
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[256];
            Assert.True(await stream.ReadAsync(buffer) > 0);
        }
        client.CancelPendingRequests();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_server.Fake.Active > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        // 400 tokens at 50 ms each would take 20 s; the generation must have ended early, by cancellation or disposal.
        Assert.Equal(0, _server.Fake.Active);
        Assert.Equal(0, _server.Fake.Completed);
        Assert.True(DateTime.UtcNow < deadline, "the generation kept running after the client went away");
    }

    private static (string Id, string Created) IdAndCreated(string raw)
    {
        var first = raw[(raw.IndexOf("data: ", StringComparison.Ordinal) + 6)..raw.IndexOf("\n\n", StringComparison.Ordinal)];
        using var doc = JsonDocument.Parse(first);
        var id = doc.RootElement.GetProperty("id").GetString()!;
        Assert.Matches(new Regex("^(chatcmpl|cmpl)-[0-9a-f]{24}$"), id);
        return (id, doc.RootElement.GetProperty("created").GetRawText());
    }
}
