using System.Text.Json;

namespace Qwen.Server.Tests.Batch;

/// <summary>The Batch API of the standalone server on the real engine (tiny package, random weights), driven by the <c>openai</c> npm client.</summary>
public sealed class BatchRealEngineTests : IAsyncLifetime
{
    private const string Key = "batch-key-0123456789abcdef0123456789";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "qwen-batch-" + Guid.NewGuid().ToString("N"));
    private RealEngineServer _server = null!;
    private Uri _baseUri = null!;
    private string _model = null!;

    public async Task InitializeAsync()
    {
        _server = await RealEngineServer.StartAsync(["--data-dir", _dataDir,
            "--max-batch-size", "4", "--threads", "1", "--Qwen:Batch:ChunkSize", "2", "--Qwen:Batch:MaxConcurrency", "3"], Key);
        (_baseUri, _model) = (_server.BaseUri, _server.Model);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task OpenAiNpmClient_BatchFlow_OneLinePerCustomIdEqualToOnlineGreedy()
    {
        string Line(string id, string content, string extra = "") =>
            $$$"""{"custom_id": "{{{id}}}", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "{{{_model}}}", "messages": [{"role": "user", "content": "{{{content}}}"}], "max_tokens": 8, "temperature": 0{{{extra}}}}}""";
        var valid = new[] { ("q1", "Hello"), ("q2", "你好"), ("q3", "What is 2+2?"), ("q4", "Tell me a story"), ("q5", "Bonjour") };
        var input = string.Join("\n", valid.Select(v => Line(v.Item1, v.Item2))) + "\n" + Line("bad", "Hi", ", \"top_p\": 7") + "\n";

        using var result = await NodeClient.RunBatchAsync(_baseUri, Key, "flow", input, TimeSpan.FromMinutes(3));
        var r = result.RootElement;

        Assert.Equal("batch", r.GetProperty("file").GetProperty("purpose").GetString());
        var batch = r.GetProperty("batch");
        Assert.Equal("completed", batch.GetProperty("status").GetString());
        // Polling sees a subsequence of the states, in OpenAI's order.
        string[] order = ["validating", "in_progress", "finalizing", "completed"];
        var seen = r.GetProperty("statuses").EnumerateArray().Select(s => Array.IndexOf(order, s.GetString())).ToArray();
        Assert.Equal(0, seen[0]);
        Assert.Equal(3, seen[^1]);
        Assert.Equal(seen.Order(), seen);
        var counts = batch.GetProperty("request_counts");
        Assert.Equal((6, 5, 1), (counts.GetProperty("total").GetInt32(), counts.GetProperty("completed").GetInt32(), counts.GetProperty("failed").GetInt32()));
        Assert.Equal("openai-batch", batch.GetProperty("metadata").GetProperty("suite").GetString());
        Assert.Equal("batch_output", r.GetProperty("outputFile").GetProperty("purpose").GetString());

        var output = r.GetProperty("output").GetString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(valid.Select(v => v.Item1), output.Select(o => o.GetProperty("custom_id").GetString()));
        var online = r.GetProperty("online");
        foreach (var line in output)
        {
            var body = line.GetProperty("response").GetProperty("body");
            var expected = online.GetProperty(line.GetProperty("custom_id").GetString()!);
            Assert.Equal(expected.GetProperty("content").GetString(), body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            Assert.Equal(expected.GetProperty("finish").GetString(), body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            Assert.Equal(expected.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal(expected.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        }
        var error = JsonDocument.Parse(r.GetProperty("errors").GetString()!.Trim()).RootElement;
        Assert.Equal("bad", error.GetProperty("custom_id").GetString());
        Assert.Equal(400, error.GetProperty("response").GetProperty("status_code").GetInt32());
        Assert.Equal("top_p", error.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(400, online.GetProperty("bad").GetProperty("status").GetInt32()); // the same request fails online too
        Assert.Equal([batch.GetProperty("id").GetString()], r.GetProperty("listed").EnumerateArray().Select(e => e.GetString()));
    }
}
