using System.Net;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Http;

/// <summary>n &gt; 1 over real HTTP on the real engine (tiny random-weights package): choices decoded together, streamed interleaved, the prompt counted once.</summary>
public sealed class ChoicesRealEngineTests : IAsyncLifetime
{
    private RealEngineServer _server = null!;

    public async Task InitializeAsync() => _server = await RealEngineServer.StartAsync(["--max-batch-size", "8", "--max-queue", "32", "--threads", "1"]);
    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string Chat(string extra) =>
        "{\"model\":\"" + _server.Model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":8" + extra + "}";

    [Fact]
    public async Task ChatCompletions_NFourGreedy_FourEqualChoicesPromptCountedOnce()
    {
        var before = await MetricAsync("qwen_engine_prefill_runs_total");
        var forkedBefore = await MetricAsync("qwen_engine_forked_rows_total");
        using var doc = await PostAsync("v1/chat/completions", Chat(",\"n\":4,\"temperature\":0"));
        // One prefill for the prompt, three rows forked from it (the engine's counters, over /metrics).
        Assert.Equal(before + 1, await MetricAsync("qwen_engine_prefill_runs_total"));
        Assert.Equal(forkedBefore + 3, await MetricAsync("qwen_engine_forked_rows_total"));
        var choices = doc.RootElement.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2, 3], choices.Select(c => c.GetProperty("index").GetInt32()));
        var texts = choices.Select(c => c.GetProperty("message").GetProperty("content").GetString()).ToList();
        Assert.Single(texts.Distinct());
        var usage = doc.RootElement.GetProperty("usage");
        Assert.Equal(20, usage.GetProperty("prompt_tokens").GetInt32()); // "Hi" with the default system prompt, once
        var one = await PostAsync("v1/chat/completions", Chat(",\"temperature\":0"));
        Assert.Equal(4 * one.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task ChatCompletions_NSeededSampled_ReproducibleAndDistinct()
    {
        var body = Chat(",\"n\":3,\"temperature\":1,\"seed\":11");
        using var first = await PostAsync("v1/chat/completions", body);
        using var second = await PostAsync("v1/chat/completions", body);
        string[] Texts(JsonDocument d) => d.RootElement.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("message").GetProperty("content").GetString()!).ToArray();
        Assert.Equal(Texts(first), Texts(second));
        Assert.True(Texts(first).Distinct().Count() > 1, "seeded choices are all the same: each choice must get its own seed");
    }

    [Fact]
    public async Task ChatStream_NThree_ChoicesInterleaveAndUsageCountsThePromptOnce()
    {
        var events = await StreamAsync("v1/chat/completions", Chat(",\"n\":3,\"temperature\":1,\"seed\":5,\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        var withChoices = events.Where(e => e.GetProperty("choices").GetArrayLength() > 0).Select(e => e.GetProperty("choices")[0]).ToList();
        var order = withChoices.Where(c => c.GetProperty("delta").TryGetProperty("content", out var t) && t.GetString()!.Length > 0).Select(c => c.GetProperty("index").GetInt32()).ToList();
        Assert.Equal([0, 1, 2], order.Distinct().Order());
        // Interleaved: some chunk of a later choice arrives before the last chunk of an earlier one.
        Assert.True(order.Zip(order.Skip(1)).Any(p => p.First > p.Second), $"choices streamed one after another: {string.Join(",", order)}");
        foreach (var index in new[] { 0, 1, 2 })
        {
            Assert.Equal("assistant", withChoices.First(c => c.GetProperty("index").GetInt32() == index).GetProperty("delta").GetProperty("role").GetString());
            Assert.Single(withChoices, c => c.GetProperty("index").GetInt32() == index && c.GetProperty("finish_reason").ValueKind == JsonValueKind.String);
        }
        var usage = events[^1].GetProperty("usage");
        Assert.Equal(20, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.InRange(usage.GetProperty("completion_tokens").GetInt32(), 3, 24);
    }

    [Fact]
    public async Task CompletionsStream_NTwo_EachChoiceFinishesOnce()
    {
        var events = await StreamAsync("v1/completions",
            "{\"model\":\"" + _server.Model + "\",\"prompt\":\"Hello\",\"max_tokens\":6,\"n\":2,\"temperature\":1,\"seed\":3,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        var choices = events.Where(e => e.GetProperty("choices").GetArrayLength() > 0).Select(e => e.GetProperty("choices")[0]).ToList();
        foreach (var index in new[] { 0, 1 })
        {
            Assert.Single(choices, c => c.GetProperty("index").GetInt32() == index && c.GetProperty("finish_reason").ValueKind == JsonValueKind.String);
            Assert.Contains(choices, c => c.GetProperty("index").GetInt32() == index && c.GetProperty("text").GetString()!.Length > 0);
        }
        Assert.Equal(TestServer.Tokenizer.Encode("Hello").Count, events[^1].GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task ChatCompletions_MoreChoicesThanRows_400NamingN()
    {
        using var response = await _server.Client.PostAsync("v1/chat/completions", new StringContent(Chat(",\"n\":9"), Encoding.UTF8, "application/json"));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var doc = JsonDocument.Parse(raw);
        Assert.Equal("n", doc.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", doc.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    private async Task<double> MetricAsync(string name)
    {
        var text = await _server.Client.GetStringAsync("metrics");
        var line = text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return double.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<JsonDocument> PostAsync(string path, string body)
    {
        using var response = await _server.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, raw);
        return JsonDocument.Parse(raw);
    }

    private async Task<List<JsonElement>> StreamAsync(string path, string body)
    {
        using var response = await _server.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, raw);
        Assert.EndsWith("data: [DONE]\n\n", raw, StringComparison.Ordinal);
        return raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => e != "data: [DONE]")
            .Select(e => { using var d = JsonDocument.Parse(e["data: ".Length..]); return d.RootElement.Clone(); }).ToList();
    }
}
