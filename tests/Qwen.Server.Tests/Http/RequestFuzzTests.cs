using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Qwen.Testing.Fuzzing;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Http;

/// <summary>Seeded mutations of valid chat, completions, utility and batch requests against the standalone server on the real engine: never a 5xx, every 4xx is OpenAI error JSON, the server healthy after.</summary>
public sealed class RequestFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Key = "sk-fuzz-0123456789abcdef0123456789abcdef";
    private const int Cases = 2_400;
    private const int Seed = 20261206;
    // Its own batch data directory: the fuzzed batches may still be running when the test ends, and a server sharing
    // the directory would resume them at start (see TestDataDirectory).
    private readonly string _dataDir = Directory.CreateTempSubdirectory("qwen-fuzz-batches-").FullName;
    private RealEngineServer _server = null!;
    private HttpClient _client = null!;
    private string _model = null!;

    public async Task InitializeAsync()
    {
        _server = await RealEngineServer.StartAsync(["--max-batch-size", "4", "--max-queue", "64", "--threads", "1", "--data-dir", _dataDir], Key);
        (_client, _model) = (_server.Client, _server.Model);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private async Task<string> UploadBatchInputAsync()
    {
        var line = "{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"" + _model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}}\n";
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(line)) { Headers = { ContentType = new MediaTypeHeaderValue("application/jsonl") } }, "file", "in.jsonl" },
        };
        using var response = await _client.PostAsync("v1/files", form);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("id").GetString()!;
    }

    private Dictionary<string, string[]> Seeds(string batchInputFileId)
    {
        var m = _model;
        const string Tool = """{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}""";
        return new()
        {
            ["v1/chat/completions"] =
            [
                $$$"""{"model":"{{{m}}}","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}""",
                $$$"""{"model":"{{{m}}}","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"你好"}],"max_tokens":3,"temperature":0.7,"top_p":0.9,"seed":7,"stop":["\n"]}""",
                $$$"""{"model":"{{{m}}}","messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"stream":true,"stream_options":{"include_usage":true},"n":2}""",
                $$$"""{"model":"{{{m}}}","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":2,"logprobs":true,"top_logprobs":2,"logit_bias":{"15":-100}}""",
                $$$"""{"model":"{{{m}}}","messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"sunny"}],"tools":[{{{Tool}}}],"tool_choice":"auto","max_tokens":3}""",
                $$$"""{"model":"{{{m}}}","messages":[{"role":"user","content":"Hi"}],"tools":[{{{Tool}}}],"stream":true,"max_tokens":3,"presence_penalty":0.5,"frequency_penalty":0.5,"user":"fuzz"}""",
            ],
            ["v1/completions"] =
            [
                $$$"""{"model":"{{{m}}}","prompt":"def f(x):","max_tokens":4}""",
                $$$"""{"model":"{{{m}}}","prompt":[1,2,3,4],"max_tokens":2,"echo":true,"logprobs":2}""",
                $$$"""{"model":"{{{m}}}","prompt":"Hello","max_tokens":3,"stream":true,"n":2,"temperature":1.2,"top_k":5}""",
            ],
            ["tokenize"] = ["""{"content":"Hello <|im_start|> 世界","parse_special":false}"""],
            ["detokenize"] = ["""{"tokens":[9707,11,1879]}"""],
            ["apply-template"] = ["""{"messages":[{"role":"user","content":"Hi"}],"tools":[]}"""],
            ["v1/batches"] =
            [
                $$$"""{"input_file_id":"{{{batchInputFileId}}}","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"run":"fuzz"}}""",
            ],
        };
    }

    [Fact]
    public async Task Fuzz_MutatedRequests_No5xx_Every4xxIsOpenAiError_ServerHealthyAfter()
    {
        var seeds = Seeds(await UploadBatchInputAsync());
        var fuzzer = new RequestFuzzer(Seed);
        // Half chat, 30% completions, the rest the utility and batch routes. Cases are generated up front (one Random, one
        // order, so a case number reproduces) and sent four at a time.
        var cases = Enumerable.Range(0, Cases).Select(i =>
        {
            var path = (i % 10) switch
            {
                < 5 => "v1/chat/completions",
                < 8 => "v1/completions",
                8 => i % 20 == 8 ? "tokenize" : "detokenize",
                _ => i % 20 == 9 ? "apply-template" : "v1/batches",
            };
            return (Index: i, Path: path, Body: fuzzer.Next(seeds[path]));
        }).ToArray();
        var statuses = new ConcurrentDictionary<int, int>();
        var failures = new ConcurrentQueue<string>();

        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (c, ct) =>
        {
            using var content = new ByteArrayContent(c.Body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _client.PostAsync(c.Path, content, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            var status = (int)response.StatusCode;
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            var problem = Check(status, response.Content.Headers.ContentType?.MediaType, text);
            if (problem is not null)
            {
                failures.Enqueue($"case {c.Index} {c.Path} → {status}: {problem}; body {Preview(c.Body)}; response {text[..Math.Min(300, text.Length)]}");
            }
        });

        var histogram = string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"));
        output.WriteLine($"fuzz: {Cases} cases, seed {Seed}; status histogram {histogram}");
        Assert.True(failures.IsEmpty, $"{failures.Count} bad responses; first: {string.Join("\n", failures.Take(5))}");
        Assert.Equal(Cases, statuses.Values.Sum());
        Assert.True(statuses.GetValueOrDefault(200) > Cases / 20, $"too few cases stayed valid to exercise generation: {histogram}");
        Assert.True(statuses.Keys.Count(s => s is >= 400 and < 500) >= 2, $"too few kinds of refusal: {histogram}");

        using var health = await _client.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var normal = await _client.PostAsync("v1/chat/completions", new StringContent(
            "{\"model\":\"" + _model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
    }

    private static string? Check(int status, string? mediaType, string text)
    {
        if (status >= 500)
        {
            return "server error";
        }
        if (status >= 400)
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                var error = doc.RootElement.GetProperty("error");
                return error.GetProperty("message").ValueKind == JsonValueKind.String && error.GetProperty("type").ValueKind == JsonValueKind.String
                    ? null
                    : "error JSON without message/type strings";
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return "4xx without OpenAI error JSON";
            }
        }
        if (mediaType == "text/event-stream")
        {
            return text.EndsWith("data: [DONE]\n\n", StringComparison.Ordinal) ? null : "stream not ended with [DONE]";
        }
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? null : "200 body is not a JSON object";
        }
        catch (JsonException)
        {
            return "200 body is not JSON";
        }
    }

    private static string Preview(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        return text.Length <= 300 ? text : text[..300] + "…";
    }
}
