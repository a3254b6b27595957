using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Qwen.Server.Tests.Batch;

/// <summary>Files and batches belong to the key that made them: another key sees 404 everywhere, and batch lines run in their owner's prefix-cache scope.</summary>
public sealed class BatchTenancyTests : IAsyncLifetime
{
    private const string KeyA = "tenant-a-key-0123456789abcdef012345";
    private const string KeyB = "tenant-b-key-0123456789abcdef012345";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "qwen-batch-tenancy-" + Guid.NewGuid().ToString("N"));
    private TestServer _server = null!;
    private HttpClient _a = null!;
    private HttpClient _b = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(["--api-key", KeyA, "--data-dir", _dataDir], configure: o => o.ApiKeys = [KeyB]);
        (_a, _b) = (_server.CreateClient(KeyA), _server.CreateClient(KeyB));
    }

    public async Task DisposeAsync()
    {
        _a.Dispose();
        _b.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task FilesAndBatches_AnotherKey_404EverywhereAndNotListed()
    {
        var file = await UploadAsync(_a, "secret");
        Assert.Equal(HttpStatusCode.NotFound, (await _b.GetAsync($"v1/files/{file}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _b.GetAsync($"v1/files/{file}/content")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _b.DeleteAsync($"v1/files/{file}")).StatusCode);
        Assert.Empty((await _b.GetFromJsonAsync<JsonObject>("v1/files"))!["data"]!.AsArray());
        using var stolen = await _b.PostAsJsonAsync("v1/batches", new { input_file_id = file, endpoint = "/v1/chat/completions", completion_window = "24h" });
        Assert.Equal(HttpStatusCode.NotFound, stolen.StatusCode);

        var batch = await CreateBatchAsync(_a, file);
        var done = await WaitAsync(_a, batch);
        var output = done["output_file_id"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.NotFound, (await _b.GetAsync($"v1/batches/{batch}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _b.PostAsync($"v1/batches/{batch}/cancel", null)).StatusCode);
        Assert.Empty((await _b.GetFromJsonAsync<JsonObject>("v1/batches"))!["data"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await _b.GetAsync($"v1/files/{output}/content")).StatusCode);
        Assert.Contains("\"custom_id\":\"r1\"", await _a.GetStringAsync($"v1/files/{output}/content"), StringComparison.Ordinal);
        Assert.Single((await _a.GetFromJsonAsync<JsonObject>("v1/batches"))!["data"]!.AsArray());
        Assert.DoesNotContain("owner", await _a.GetStringAsync($"v1/files/{file}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BatchLines_RunInTheirOwnersCacheScope()
    {
        await WaitAsync(_a, await CreateBatchAsync(_a, await UploadAsync(_a, "same prompt")));
        var scopeA = _server.Fake.Requests.Last().CacheScope;
        await WaitAsync(_b, await CreateBatchAsync(_b, await UploadAsync(_b, "same prompt")));
        var scopeB = _server.Fake.Requests.Last().CacheScope;

        Assert.NotNull(scopeA);
        Assert.NotEqual(scopeA, scopeB);
    }

    private static async Task<string> UploadAsync(HttpClient client, string content)
    {
        var line = $$$"""{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "qwen-test", "messages": [{"role": "user", "content": "{{{content}}}"}], "max_tokens": 3}}""";
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(line + "\n")) { Headers = { ContentType = new MediaTypeHeaderValue("application/jsonl") } }, "file", "in.jsonl" },
        };
        using var response = await client.PostAsync("v1/files", form);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        return body["id"]!.GetValue<string>();
    }

    private static async Task<string> CreateBatchAsync(HttpClient client, string file)
    {
        using var response = await client.PostAsJsonAsync("v1/batches", new { input_file_id = file, endpoint = "/v1/chat/completions", completion_window = "24h" });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        return body["id"]!.GetValue<string>();
    }

    private static async Task<JsonObject> WaitAsync(HttpClient client, string batch)
    {
        for (var i = 0; i < 400; i++)
        {
            var record = (await client.GetFromJsonAsync<JsonObject>($"v1/batches/{batch}"))!;
            if (record["status"]!.GetValue<string>() == "completed")
            {
                return record;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"batch {batch} did not complete");
    }
}
