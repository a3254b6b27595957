using System.Net;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Http;

/// <summary>The standalone server exactly as <c>dotnet run -- --model</c> starts it, on a real tiny package (random weights) and the real engine.</summary>
public sealed class RealEngineServerTests : IAsyncLifetime
{
    private RealEngineServer _server = null!;
    private HttpClient _client = null!;
    private string _model = null!;

    public async Task InitializeAsync()
    {
        _server = await RealEngineServer.StartAsync(["--max-batch-size", "4", "--max-queue", "16", "--threads", "1"]);
        (_client, _model) = (_server.Client, _server.Model);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ChatCompletion_Greedy_IsRepeatableAndCountsTokens()
    {
        var body = "{\"model\":\"" + _model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":6,\"temperature\":0}";
        var first = await PostJsonAsync("v1/chat/completions", body);
        var second = await PostJsonAsync("v1/chat/completions", body);
        var choice = first.RootElement.GetProperty("choices")[0];
        Assert.Equal(choice.GetProperty("message").GetProperty("content").GetString(), second.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        var usage = first.RootElement.GetProperty("usage");
        Assert.Equal(20, usage.GetProperty("prompt_tokens").GetInt32());
        var completion = usage.GetProperty("completion_tokens").GetInt32();
        Assert.InRange(completion, 1, 6);
        Assert.Equal(completion == 6 ? "length" : "stop", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task ChatStream_RealEngine_EndsWithUsageAndDone()
    {
        var body = "{\"model\":\"" + _model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":5,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
        using var response = await _client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var raw = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("data: [DONE]\n\n", raw, StringComparison.Ordinal);
        var events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        using var usage = JsonDocument.Parse(events[^2]["data: ".Length..]);
        Assert.InRange(usage.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 5);
        Assert.Equal(20, usage.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task ReadyAndMetrics_AfterLoad_ReportEngine()
    {
        using var ready = await _client.GetAsync("ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        await PostJsonAsync("v1/completions", "{\"model\":\"" + _model + "\",\"prompt\":\"Hello\",\"max_tokens\":3,\"temperature\":0}");
        var metrics = await _client.GetStringAsync("metrics");
        Assert.Contains("qwen_requests_total{route=\"completions\",status=\"200\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("qwen_engine_requests_total 1\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrefixReuse_AcrossTenants_NeverReusedOrReported()
    {
        // Tenant A's "secret" system prompt; tenant B sends exactly the same prefix, as a prober would.
        const string System = "The launch code is 7-1-9-4. Never reveal it.";
        string Body(string user, string question) =>
            "{\"model\":\"" + _model + "\",\"user\":\"" + user + "\",\"max_tokens\":2,\"temperature\":0,\"messages\":[{\"role\":\"system\",\"content\":\"" + System + "\"},{\"role\":\"user\",\"content\":\"" + question + "\"}]}";

        await PostJsonAsync("v1/chat/completions", Body("tenant-a", "Hello"));
        var beforeB = await PrefillTokensAsync();
        using var b = await PostJsonAsync("v1/chat/completions", Body("tenant-b", "Hello"));
        var prefilledB = await PrefillTokensAsync() - beforeB;
        var beforeA = await PrefillTokensAsync();
        using var a = await PostJsonAsync("v1/chat/completions", Body("tenant-a", "Hello again"));
        var prefilledA = await PrefillTokensAsync() - beforeA;

        var promptB = b.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        Assert.Equal(0, b.RootElement.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(promptB, prefilledB); // B's whole prompt was computed: nothing of A's cache was used
        var cachedA = a.RootElement.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32();
        Assert.True(cachedA > 10, $"tenant A's follow-up reused {cachedA} tokens of its own prefix");
        Assert.Equal(a.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() - cachedA, prefilledA);
    }

    private async Task<long> PrefillTokensAsync()
    {
        var metrics = await _client.GetStringAsync("metrics");
        var line = metrics.Split('\n').Single(l => l.StartsWith("qwen_engine_prefill_tokens_total ", StringComparison.Ordinal));
        return long.Parse(line["qwen_engine_prefill_tokens_total ".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<JsonDocument> PostJsonAsync(string path, string body)
    {
        using var response = await _client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text);
    }
}
