using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Serving.Batch;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Batch;

/// <summary>The standalone server's Files and Batches APIs over a fake engine: validation, cancel, and a restart in the middle of a batch.</summary>
public sealed class BatchApiTests(ITestOutputHelper log) : IAsyncLifetime
{
    private const string Key = "batch-key-0123456789abcdef0123456789";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "qwen-batch-" + Guid.NewGuid().ToString("N"));
    private TestServer _server = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await StartAsync();
        _client = _server.CreateClient(Key);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    private Task<TestServer> StartAsync() => TestServer.StartAsync(["--api-key", Key, "--data-dir", _dataDir,
        "--Qwen:Batch:ChunkSize", "3", "--Qwen:Batch:MaxConcurrency", "2", "--Qwen:Batch:MaxLines", "20",
        "--Qwen:Batch:MaxInputBytes", "8000", "--Qwen:Batch:CancelPollInterval", "00:00:00.050"]);

    private static string Line(string id, string content, string url = "/v1/chat/completions")
        => $$$"""{"custom_id": "{{{id}}}", "method": "POST", "url": "{{{url}}}", "body": {"model": "qwen-test", "messages": [{"role": "user", "content": "{{{content}}}"}]}}""";

    private async Task<(HttpStatusCode Status, JsonNode Body)> UploadAsync(string content, string purpose = "batch", string filename = "in.jsonl")
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(purpose), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(content)) { Headers = { ContentType = new MediaTypeHeaderValue("application/jsonl") } }, "file", filename },
        };
        using var response = await _client.PostAsync("v1/files", form);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await _client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private async Task<JsonNode> CreateBatchAsync(string jsonl)
    {
        var (status, file) = await UploadAsync(jsonl);
        Assert.Equal(HttpStatusCode.OK, status);
        var (created, batch) = await SendAsync(HttpMethod.Post, "v1/batches", new { input_file_id = file["id"]!.GetValue<string>(), endpoint = "/v1/chat/completions", completion_window = "24h" });
        Assert.True(created == HttpStatusCode.OK, batch.ToJsonString());
        return batch;
    }

    private async Task<JsonNode> WaitAsync(TestServer server, string batchId, params string[] statuses)
    {
        using var client = server.CreateClient(Key);
        for (var i = 0; i < 600; i++)
        {
            var batch = JsonNode.Parse(await client.GetStringAsync($"v1/batches/{batchId}"))!;
            if (statuses.Contains(batch["status"]!.GetValue<string>()))
            {
                return batch;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"Batch {batchId} never reached {string.Join("/", statuses)}.");
    }

    [Fact]
    public async Task Files_UploadRetrieveListContentDelete_RoundTrip()
    {
        var text = Line("a", "x") + "\n";

        var (status, file) = await UploadAsync(text, filename: "requests.jsonl");

        Assert.Equal(HttpStatusCode.OK, status);
        var id = file["id"]!.GetValue<string>();
        Assert.Matches("^file-[0-9a-f]{24}$", id);
        Assert.Equal(("file", "requests.jsonl", "batch", "processed", Encoding.UTF8.GetByteCount(text)),
            (file["object"]!.GetValue<string>(), file["filename"]!.GetValue<string>(), file["purpose"]!.GetValue<string>(), file["status"]!.GetValue<string>(), file["bytes"]!.GetValue<int>()));
        Assert.Equal(id, (await SendAsync(HttpMethod.Get, $"v1/files/{id}")).Body["id"]!.GetValue<string>());
        Assert.Equal(text, await _client.GetStringAsync($"v1/files/{id}/content"));
        Assert.Equal([id], (await SendAsync(HttpMethod.Get, "v1/files?purpose=batch")).Body["data"]!.AsArray().Select(f => f!["id"]!.GetValue<string>()));
        var deleted = await SendAsync(HttpMethod.Delete, $"v1/files/{id}");
        Assert.True(deleted.Body["deleted"]!.GetValue<bool>());
        var gone = await SendAsync(HttpMethod.Get, $"v1/files/{id}/content");
        Assert.Equal((HttpStatusCode.NotFound, "file_not_found"), (gone.Status, gone.Body["error"]!["code"]!.GetValue<string>()));
    }

    public static TheoryData<string, string, int, string, string> UploadCases() => new()
    {
        // name, purpose, bytes, status, code
        { "fine-tune purpose", "fine-tune", 10, "400", "unsupported_purpose" },
        { "over MaxInputBytes", "batch", 9000, "413", "file_too_large" },
    };

    [Theory]
    [MemberData(nameof(UploadCases))]
    public async Task Files_BadUpload_OpenAiError(string name, string purpose, int bytes, string status, string code)
    {
        var (got, body) = await UploadAsync(new string('x', bytes), purpose);
        Assert.True(int.Parse(status, System.Globalization.CultureInfo.InvariantCulture) == (int)got, name);
        Assert.Equal(code, body["error"]!["code"]!.GetValue<string>());
    }

    public static TheoryData<string, string, string, string, int, string, string> CreateCases()
    {
        var ok = Line("a", "x");
        return new()
        {
            // name, file content (null: no file), endpoint, window, status, code, message start
            { "unknown file", "", "/v1/chat/completions", "24h", 404, "file_not_found", "No such File object: file-000000000000000000000000" },
            { "malformed JSONL", ok + "\n" + ok.Replace("\"a\"", "\"b\"", StringComparison.Ordinal) + "\n{oops\n", "/v1/chat/completions", "24h", 400, "invalid_json_line", "The input file has 1 invalid line(s): Line 3 is not valid JSON" },
            { "duplicate custom_id", ok + "\n" + ok, "/v1/chat/completions", "24h", 400, "duplicate_custom_id", "The input file has 1 invalid line(s): Line 2 repeats custom_id 'a'" },
            { "mixed urls", ok + "\n" + Line("b", "y", "/v1/completions"), "/v1/chat/completions", "24h", 400, "mismatched_url", "The input file has 1 invalid line(s): Line 2 targets '/v1/completions'" },
            { "unsupported url", Line("a", "x", "/v1/embeddings"), "/v1/chat/completions", "24h", 400, "unsupported_url", "The input file has 1 invalid line(s): Line 1 targets '/v1/embeddings'" },
            { "unsupported endpoint", ok, "/v1/embeddings", "24h", 400, "unsupported_endpoint", "The endpoint '/v1/embeddings' is not supported" },
            { "too many lines", string.Join("\n", Enumerable.Range(0, 21).Select(i => Line($"r{i}", "x"))), "/v1/chat/completions", "24h", 400, "too_many_requests", "The input file has more than 20 requests (line 21 is request 21)" },
        };
    }

    [Theory]
    [MemberData(nameof(CreateCases))]
    public async Task Batches_CreateWithBadInput_OpenAiError4xx(string name, string content, string endpoint, string window, int status, string code, string message)
    {
        var fileId = "file-000000000000000000000000";
        if (content.Length > 0)
        {
            var (uploaded, file) = await UploadAsync(content);
            Assert.Equal(HttpStatusCode.OK, uploaded);
            fileId = file["id"]!.GetValue<string>();
        }

        var (got, body) = await SendAsync(HttpMethod.Post, "v1/batches", new { input_file_id = fileId, endpoint, completion_window = window });

        Assert.True(status == (int)got, $"{name}: {body.ToJsonString()}");
        Assert.Equal(code, body["error"]!["code"]!.GetValue<string>());
        Assert.StartsWith(message, body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty((await SendAsync(HttpMethod.Get, "v1/batches")).Body["data"]!.AsArray());
    }

    [Fact]
    public async Task Batches_CreateFromOutputFileOrWithBadWindow_400()
    {
        _server.Fake.Respond = _ => "ok";
        var batch = await CreateBatchAsync(Line("a", "x"));
        var done = await WaitAsync(_server, batch["id"]!.GetValue<string>(), "completed");
        var outputId = done["output_file_id"]!.GetValue<string>();

        var wrongPurpose = await SendAsync(HttpMethod.Post, "v1/batches", new { input_file_id = outputId, endpoint = "/v1/chat/completions", completion_window = "24h" });
        var badWindow = await SendAsync(HttpMethod.Post, "v1/batches", new { input_file_id = done["input_file_id"]!.GetValue<string>(), endpoint = "/v1/chat/completions", completion_window = "1h" });
        var cancelDone = await SendAsync(HttpMethod.Post, $"v1/batches/{done["id"]}/cancel");
        var unknown = await SendAsync(HttpMethod.Get, "v1/batches/batch_000000000000000000000000");

        Assert.Equal((HttpStatusCode.BadRequest, "invalid_file_purpose"), (wrongPurpose.Status, wrongPurpose.Body["error"]!["code"]!.GetValue<string>()));
        Assert.Equal((HttpStatusCode.BadRequest, "completion_window"), (badWindow.Status, badWindow.Body["error"]!["param"]!.GetValue<string>()));
        Assert.Equal((HttpStatusCode.Conflict, "batch_not_cancellable"), (cancelDone.Status, cancelDone.Body["error"]!["code"]!.GetValue<string>()));
        Assert.Equal((HttpStatusCode.NotFound, "batch_not_found"), (unknown.Status, unknown.Body["error"]!["code"]!.GetValue<string>()));
    }

    [Fact]
    public async Task OpenAiNpmClient_CancelRunningBatch_StopsItWithPartialOutput()
    {
        _server.Fake.TokenDelay = TimeSpan.FromMilliseconds(30);
        _server.Fake.Respond = _ => "one two three four five six seven eight nine ten";
        var input = string.Join("\n", Enumerable.Range(1, 12).Select(i => Line($"r{i}", $"line {i}")));

        using var result = await NodeClient.RunBatchAsync(_server.BaseUri, Key, "cancel", input, TimeSpan.FromMinutes(2));
        var r = result.RootElement;

        var batch = r.GetProperty("batch");
        Assert.Equal("in_progress", r.GetProperty("cancelledWhile").GetString());
        Assert.Equal("cancelled", batch.GetProperty("status").GetString());
        Assert.Contains("cancelling", r.GetProperty("statuses").EnumerateArray().Select(s => s.GetString()));
        var completed = batch.GetProperty("request_counts").GetProperty("completed").GetInt32();
        log.WriteLine($"cancelled with {completed}/12 completed; the engine received {_server.Fake.Requests.Count} requests, {_server.Fake.Cancelled} cancelled");
        Assert.InRange(completed, 3, 9); // at least the first chunk (3 requests), not all 12
        var output = r.GetProperty("output").GetString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(completed, output.Length);
        Assert.Equal(output.Length, output.Select(l => JsonNode.Parse(l)!["custom_id"]!.GetValue<string>()).Distinct().Count());
        Assert.InRange(_server.Fake.Requests.Count, completed, 11); // stopped: the 12 requests were never all started
        Assert.True(_server.Fake.Cancelled >= 1, "a running request was stopped");
        await Task.Delay(300);
        var after = _server.Fake.Requests.Count;
        await Task.Delay(300);
        Assert.Equal(after, _server.Fake.Requests.Count); // and nothing runs any more
        Assert.Equal(0, _server.Fake.Active);
    }

    [Fact]
    public async Task Server_RestartedMidBatch_ResumesAndRunsOnlyUnfinishedRequests()
    {
        _server.Fake.TokenDelay = TimeSpan.FromMilliseconds(25);
        _server.Fake.Respond = r => "answer " + string.Join(' ', Enumerable.Repeat("word", 12));
        var ids = Enumerable.Range(1, 12).Select(i => $"r{i:D2}").ToArray();
        var batch = await CreateBatchAsync(string.Join("\n", ids.Select(id => Line(id, "line-" + id))));
        var batchId = batch["id"]!.GetValue<string>();
        var linesDir = Path.Combine(_dataDir, BatchStore.LinesPrefix(batchId));
        int Persisted() => Directory.Exists(linesDir) ? Directory.EnumerateFiles(linesDir, "*.json", SearchOption.AllDirectories).Count() : 0;
        while (Persisted() < 3)
        {
            await Task.Delay(20);
        }

        await _server.DisposeAsync(); // the process goes away mid-batch
        var finishedBefore = Persisted();
        Assert.InRange(finishedBefore, 3, 11);
        var doneBefore = Directory.EnumerateFiles(linesDir, "*.json", SearchOption.AllDirectories)
            .Select(f => JsonNode.Parse(File.ReadAllText(f))!["custom_id"]!.GetValue<string>()).ToHashSet();

        _server = await StartAsync();
        var done = await WaitAsync(_server, batchId, "completed", "failed");

        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Equal(12, done["request_counts"]!["completed"]!.GetValue<int>());
        var output = await _server.CreateClient(Key).GetStringAsync($"v1/files/{done["output_file_id"]}/content");
        Assert.Equal(ids, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["custom_id"]!.GetValue<string>()));
        // The restarted engine generated exactly the requests that had no result: none of the finished ones again.
        log.WriteLine($"stopped with {finishedBefore}/12 requests persisted; the restarted engine generated {_server.Fake.Completed}");
        Assert.Equal(12 - finishedBefore, _server.Fake.Completed);
        var rerun = _server.Fake.Requests.Select(q => TestServer.Tokenizer.Decode(q.PromptTokens)).ToArray();
        Assert.All(doneBefore, id => Assert.DoesNotContain(rerun, prompt => prompt.Contains("line-" + id, StringComparison.Ordinal)));
    }
}
