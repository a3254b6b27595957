using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Qwen.Server.Tests.Fakes;
using Qwen.Testing;

namespace Qwen.Server.Tests.Forwarding;

/// <summary>The front (<c>--worker</c>, no model) before a worker on the fake engine, both real servers on 127.0.0.1.</summary>
public sealed class WorkerForwarderTests : IAsyncLifetime
{
    private FakeGenerationEngine _fake = null!;
    private FrontAndWorker _pair = null!;

    public async Task InitializeAsync()
    {
        _fake = new FakeGenerationEngine(TestServer.Tokenizer, 2048, TestServer.ModelName);
        _pair = await FrontAndWorker.StartAsync(new ScriptedReActEngine(_fake));
    }

    public async Task DisposeAsync() => await _pair.DisposeAsync();

    [Fact]
    public async Task Stream_ThroughFront_FirstChunkArrivesWhileGenerating()
    {
        const int Tokens = 12;
        var delay = TimeSpan.FromMilliseconds(120);
        _fake.TokenDelay = delay;
        _fake.Respond = _ => string.Concat(Enumerable.Repeat(" hello", Tokens));
        using var client = _pair.CreateFrontClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = Json("{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true}"),
        };
        var clock = Stopwatch.StartNew();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var contentTimes = new List<TimeSpan>();
        var text = new StringBuilder();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal))
            {
                continue;
            }
            using var chunk = JsonDocument.Parse(line["data: ".Length..]);
            var delta = chunk.RootElement.GetProperty("choices")[0].GetProperty("delta");
            if (delta.TryGetProperty("content", out var c) && c.GetString() is { Length: > 0 } piece)
            {
                contentTimes.Add(clock.Elapsed);
                text.Append(piece);
            }
        }
        Assert.Equal(string.Concat(Enumerable.Repeat(" hello", Tokens)), text.ToString());
        Assert.Equal(Tokens, contentTimes.Count);
        // Unbuffered: the first token reached the client while the other eleven were still being generated (11 × 120 ms).
        // A forwarder that buffered the stream would deliver all chunks together, at the end.
        var spread = contentTimes[^1] - contentTimes[0];
        Assert.True(spread >= (Tokens - 1) * delay * 0.6, $"first content chunk at {contentTimes[0].TotalMilliseconds:F0} ms, last at {contentTimes[^1].TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task TokenizeAndApplyTemplate_ThroughFront_MatchWorker()
    {
        using var front = _pair.CreateFrontClient();
        using var worker = _pair.CreateWorkerClient();
        foreach (var (path, body) in new[]
        {
            ("tokenize", "{\"content\":\"你好, world <|im_start|>\",\"with_pieces\":true}"),
            ("detokenize", "{\"tokens\":[108386,11,1879]}"),
            ("apply-template", "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}}]}"),
        })
        {
            using var viaFront = await front.PostAsync(path, Json(body));
            using var direct = await worker.PostAsync(path, Json(body));
            Assert.Equal(HttpStatusCode.OK, viaFront.StatusCode);
            Assert.Equal("application/json", viaFront.Content.Headers.ContentType?.MediaType);
            Assert.Equal(await direct.Content.ReadAsStringAsync(), await viaFront.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task BusyWorker_ThroughFront_429WithRetryAfterPassesThrough()
    {
        _fake.MaxConcurrent = 0;
        using var client = _pair.CreateFrontClient();
        using var response = await client.PostAsync("v1/chat/completions", Json("{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("rate_limit_exceeded", error.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task ErrorJson_ThroughFront_PassesThroughUnchanged()
    {
        using var front = _pair.CreateFrontClient();
        using var worker = _pair.CreateWorkerClient();
        const string Body = "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"temperature\":7}";
        using var viaFront = await front.PostAsync("v1/chat/completions", Json(Body));
        using var direct = await worker.PostAsync("v1/chat/completions", Json(Body));
        Assert.Equal(HttpStatusCode.BadRequest, viaFront.StatusCode);
        Assert.Equal(await direct.Content.ReadAsStringAsync(), await viaFront.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task WrongClientKey_AtFront_RefusedWithoutContactingWorker()
    {
        var forwardedBefore = _pair.FrontMetrics.Forwarded;
        foreach (var key in new[] { "wrong-key", null, FrontAndWorker.ServiceKey })
        {
            using var client = _pair.CreateFrontClient(key);
            using var response = await client.PostAsync("v1/chat/completions", Json("{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("invalid_api_key", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        Assert.Equal(3, _pair.FrontMetrics.Unauthorized);
        Assert.Equal(forwardedBefore, _pair.FrontMetrics.Forwarded);
        Assert.Empty(_fake.Requests);
        using var workerClient = _pair.CreateWorkerClient();
        var workerMetrics = await workerClient.GetStringAsync("metrics");
        Assert.DoesNotContain("route=\"chat_completions\"", workerMetrics, StringComparison.Ordinal);
        using var frontClient = _pair.CreateFrontClient();
        Assert.Contains("qwen_front_unauthorized_total 3\n", await frontClient.GetStringAsync("metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoClients_ThroughFront_KeepSeparateCacheScopesOnTheWorker()
    {
        const string Body = "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}";
        foreach (var key in new[] { FrontAndWorker.ClientKey, FrontAndWorker.OtherClientKey, FrontAndWorker.ClientKey })
        {
            using var client = _pair.CreateFrontClient(key);
            using var response = await client.PostAsync("v1/chat/completions", Json(Body));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        // Every request reached the worker with the one service credential; the front's caller header keeps the tenants apart.
        var scopes = _fake.Requests.Select(r => r.CacheScope).ToArray();
        Assert.Equal(3, scopes.Length);
        Assert.All(scopes, s => Assert.False(string.IsNullOrEmpty(s)));
        Assert.Equal(scopes[0], scopes[2]);
        Assert.NotEqual(scopes[0], scopes[1]);
    }

    [Fact]
    public async Task ClientKey_AtWorker_Refused()
    {
        using var client = _pair.CreateWorkerClient(FrontAndWorker.ClientKey);
        using var response = await client.GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var withService = _pair.CreateWorkerClient();
        Assert.Equal(HttpStatusCode.OK, (await withService.GetAsync("v1/models")).StatusCode);
    }

    [Fact]
    public async Task WorkerStoppedThenRestarted_Front_503ThenRecoversAlone()
    {
        using var client = _pair.CreateFrontClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("v1/models")).StatusCode);
        await _pair.StopWorkerAsync();

        using var down = await client.GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.NotNull(down.Headers.RetryAfter?.Delta);
        Assert.Equal("application/json", down.Content.Headers.ContentType?.MediaType);
        using (var error = JsonDocument.Parse(await down.Content.ReadAsStringAsync()))
        {
            Assert.Equal("worker_unavailable", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        using var readyDown = await client.GetAsync("ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyDown.StatusCode);

        await _pair.RestartWorkerAsync();
        using var up = await client.GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.OK, up.StatusCode);
        using var models = JsonDocument.Parse(await up.Content.ReadAsStringAsync());
        Assert.Equal(TestServer.ModelName, models.RootElement.GetProperty("data")[0].GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("ready")).StatusCode);
    }

    [Fact]
    public async Task OpenAiNpmClient_ThroughFront_ChatStreamToolsRoundTrip()
    {
        _fake.Respond = _ => "Hello, world! How are you today?\n\nBye.";
        var r = await NodeScript.RunAsync("openai-client.mjs", new Uri(_pair.FrontUri, "v1"), FrontAndWorker.ClientKey);
        Assert.Equal("Hello, world! How are you today?", r.GetProperty("chat").GetProperty("content").GetString());
        Assert.Equal("Hello, world! How are you today?\n\nBye.", r.GetProperty("stream").GetProperty("text").GetString());
        var tools = r.GetProperty("tools");
        Assert.Equal("tool_calls", tools.GetProperty("firstFinish").GetString());
        Assert.Equal("get_weather", tools.GetProperty("name").GetString());
        Assert.Equal("Paris", tools.GetProperty("arguments").GetProperty("city").GetString());
        Assert.Equal("It is 22 degrees and sunny in Paris.", tools.GetProperty("answer").GetString());
        Assert.Equal(401, r.GetProperty("wrongKey").GetProperty("status").GetInt32());
        Assert.Equal([TestServer.ModelName], r.GetProperty("models").EnumerateArray().Select(e => e.GetString()));
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
