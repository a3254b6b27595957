using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.Testing;
using Xunit.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Serving.Batch;
using Qwen.Server.Tests.Forwarding;

namespace Qwen.Server.Tests.Http;

/// <summary>
/// response_format and forced tool calls over real HTTP on the real engine with the tiny random-weights package, whose free
/// output is gibberish: only constrained decoding can make it valid JSON. Driven by the official <c>openai</c> npm package.
/// </summary>
public sealed class StructuredOutputTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Key = "sk-structured-0123456789abcdef0123";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "qwen-structured-" + Guid.NewGuid().ToString("N"));
    private RealEngineServer _server = null!;

    // Random weights never close a free string, so every string here is bounded (enum, const, maxLength), and arrays are
    // bounded too: random weights favour whitespace, up to the grammar's 24 bytes in every gap, so each value costs tokens.
    public static readonly (string Name, string Schema)[] Schemas =
    [
        ("flat_enum", """{"type":"object","properties":{"color":{"type":"string","enum":["red","green","blue"]},"ok":{"type":"boolean"}},"required":["color","ok"],"additionalProperties":false}"""),
        ("nested", """{"type":"object","properties":{"user":{"type":"object","properties":{"name":{"type":"string","maxLength":8},"admin":{"type":"boolean"}},"required":["name","admin"],"additionalProperties":false},"version":{"const":2}},"required":["user","version"],"additionalProperties":false}"""),
        ("enum_array", """{"type":"object","properties":{"tags":{"type":"array","maxItems":3,"items":{"type":"string","enum":["a","b","c"]}},"note":{"type":"null"}},"required":["tags","note"],"additionalProperties":false}"""),
        ("any_of", """{"type":"object","properties":{"value":{"anyOf":[{"type":"boolean"},{"type":"null"},{"type":"string","enum":["x","y"]},{"type":"object","properties":{"k":{"const":"v"}},"required":["k"],"additionalProperties":false}]}},"required":["value"],"additionalProperties":false}"""),
        ("records", """{"type":"object","properties":{"points":{"type":"array","minItems":1,"maxItems":2,"items":{"type":"object","properties":{"id":{"type":"integer"},"label":{"type":"string","minLength":1,"maxLength":4}},"required":["id","label"],"additionalProperties":false}}},"required":["points"],"additionalProperties":false}"""),
    ];

    public static readonly string ToolsJson = """
        [{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string","enum":["Paris","Oslo","Lima"]},"unit":{"type":"string","enum":["c","f"]}},"required":["city","unit"],"additionalProperties":false}}},
         {"type":"function","function":{"name":"get_time","description":"Time in a zone","parameters":{"type":"object","properties":{"zone":{"type":"string","maxLength":6}},"required":["zone"],"additionalProperties":false}}}]
        """;

    public async Task InitializeAsync() =>
        _server = await RealEngineServer.StartAsync(["--max-batch-size", "32", "--max-queue", "128", "--threads", "1", "--data-dir", _dataDir], Key);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public void JsonSchemaSubset_InvalidValues_AreRejected()
    {
        // The checker the sweep relies on must be able to fail.
        Assert.NotNull(JsonSchemaSubset.Validate(Parse("""{"color":"pink","ok":true}"""), Parse(Schemas[0].Schema)));
        Assert.NotNull(JsonSchemaSubset.Validate(Parse("""{"user":{"name":"a","admin":true},"version":3}"""), Parse(Schemas[1].Schema)));
        Assert.NotNull(JsonSchemaSubset.Validate(Parse("""{"tags":["a"],"note":null,"x":1}"""), Parse(Schemas[2].Schema)));
        Assert.NotNull(JsonSchemaSubset.Validate(Parse("""{"value":"z"}"""), Parse(Schemas[3].Schema)));
        Assert.NotNull(JsonSchemaSubset.Validate(Parse("""{"points":[{"id":1.5,"label":"ab"}]}"""), Parse(Schemas[4].Schema)));
        Assert.NotNull(JsonSchemaSubset.Validate(Parse("""{"points":[{"id":1,"label":"abcde"}]}"""), Parse(Schemas[4].Schema)));
        Assert.NotNull(JsonSchemaSubset.Validate(Parse("""{"points":[]}"""), Parse(Schemas[4].Schema)));
        Assert.NotNull(JsonSchemaSubset.Validate(Parse("""{"tags":["a","b","c","a"],"note":null}"""), Parse(Schemas[2].Schema)));
        Assert.Null(JsonSchemaSubset.Validate(Parse("""{"points":[{"id":-12,"label":"ab"}]}"""), Parse(Schemas[4].Schema)));
        Assert.True(JsonSchemaSubset.IsJsonPrefix("{\"ab"));
        Assert.False(JsonSchemaSubset.IsJsonPrefix("{]"));
    }

    [Fact]
    public async Task OpenAiNpmClient_JsonSchema_FiftyOfFiftySeededSamplesValidStreamingAndNot()
    {
        var env = new Dictionary<string, string>
        {
            ["QWEN_MODEL"] = _server.Model,
            ["QWEN_SCHEMAS"] = "[" + string.Join(",", Schemas.Select(s => $"{{\"name\":\"{s.Name}\",\"schema\":{s.Schema}}}")) + "]",
            ["QWEN_SAMPLES"] = "50",
            ["QWEN_MAX_TOKENS"] = "400",
            ["QWEN_CONCURRENCY"] = "64",
        };
        // 500 requests of up to 400 tokens: about a minute on an idle 2-core machine, several when CI runs the other test
        // projects beside it, so the limit is generous (a hang still fails).
        var r = await NodeScript.RunAsync("openai-structured.mjs", new Uri(_server.BaseUri, "v1"), Key, env, TimeSpan.FromMinutes(10));

        var results = r.GetProperty("schemas");
        output.WriteLine($"{Schemas.Length} schemas x 50 seeds x 2 modes in {r.GetProperty("seconds").GetDouble():F1} s; completion tokens per sample (mean, max): " +
            string.Join(", ", Enumerable.Range(0, Schemas.Length).Select(k =>
            {
                var tokens = results[k].GetProperty("whole").EnumerateArray().Select(e => e.GetProperty("tokens").GetInt32()).ToList();
                return $"{Schemas[k].Name} {tokens.Average():F0}/{tokens.Max()}";
            })));
        for (var k = 0; k < Schemas.Length; k++)
        {
            var schema = Parse(Schemas[k].Schema);
            foreach (var mode in new[] { "whole", "streamed" })
            {
                var samples = results[k].GetProperty(mode);
                Assert.Equal(50, samples.GetArrayLength());
                var distinct = new HashSet<string>();
                var seed = 0;
                foreach (var sample in samples.EnumerateArray())
                {
                    var content = sample.GetProperty("content").GetString()!;
                    var at = $"{Schemas[k].Name} {mode} seed {seed++}: {content}";
                    Assert.True(sample.GetProperty("finish").GetString() == "stop", $"{at} ended with {sample.GetProperty("finish")}");
                    JsonElement value;
                    try
                    {
                        value = Parse(content);
                    }
                    catch (JsonException ex)
                    {
                        throw new Xunit.Sdk.XunitException($"{at} is not JSON: {ex.Message}");
                    }
                    Assert.True(JsonSchemaSubset.Validate(value, schema) is null, $"{at}: {JsonSchemaSubset.Validate(value, schema)}");
                    if (mode == "streamed")
                    {
                        Assert.True(sample.GetProperty("deltas").GetInt32() > 1, $"{at} arrived in one piece");
                    }
                    distinct.Add(content);
                }
                // Sampling at temperature 1 with 50 seeds: the grammar limits the output, not the randomness.
                Assert.True(distinct.Count > 5, $"{Schemas[k].Name} {mode}: only {distinct.Count} distinct outputs");
            }
        }

        // json_object: any object. Random weights never close a key, so the output is a valid JSON prefix cut by max_tokens,
        // or a whole object.
        foreach (var name in new[] { "jsonObject", "jsonObjectStreamed" })
        {
            var sample = r.GetProperty(name);
            var content = sample.GetProperty("content").GetString()!;
            Assert.StartsWith("{", content, StringComparison.Ordinal);
            if (sample.GetProperty("finish").GetString() == "stop")
            {
                Assert.Equal(JsonValueKind.Object, Parse(content).ValueKind);
            }
            else
            {
                Assert.Equal("length", sample.GetProperty("finish").GetString());
                Assert.True(JsonSchemaSubset.IsJsonPrefix(content), $"{name}: '{content}' is not a JSON prefix");
            }
        }

        var unsupported = r.GetProperty("unsupported");
        Assert.Equal(JsonValueKind.Object, unsupported.ValueKind);
        Assert.Equal(400, unsupported.GetProperty("status").GetInt32());
        Assert.Equal("response_format", unsupported.GetProperty("param").GetString());
        Assert.Contains("'pattern'", unsupported.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("/properties/code", unsupported.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Completions_JsonSchema_OutputValidates(bool stream)
    {
        var schema = Schemas[3].Schema;
        for (var seed = 0; seed < 5; seed++)
        {
            var body = $$$"""{"model":"{{{_server.Model}}}","prompt":"JSON:","max_tokens":100,"temperature":1,"seed":{{{seed}}},"stream":{{{(stream ? "true" : "false")}}},"response_format":{"type":"json_schema","json_schema":{"name":"v","schema":""" + schema + "}}}";
            using var response = await _server.Client.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            var raw = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, raw);
            string text;
            string? finish;
            if (stream)
            {
                var chunks = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => e != "data: [DONE]").Select(e => Parse(e["data: ".Length..])).ToList();
                text = string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
                finish = chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString();
            }
            else
            {
                var choice = Parse(raw).GetProperty("choices")[0];
                (text, finish) = (choice.GetProperty("text").GetString()!, choice.GetProperty("finish_reason").GetString());
            }
            Assert.Equal("stop", finish);
            Assert.True(JsonSchemaSubset.Validate(Parse(text), Parse(schema)) is null, $"seed {seed}: {text}");
        }
    }

    [Fact]
    public async Task OpenAiNpmClient_ToolChoiceRequiredAndNamed_CallsValidateAgainstTheToolSchemas()
    {
        var env = new Dictionary<string, string> { ["QWEN_MODEL"] = _server.Model, ["QWEN_TOOLS"] = ToolsJson, ["QWEN_SAMPLES"] = "4" };
        var r = await NodeScript.RunAsync("openai-tools-forced.mjs", new Uri(_server.BaseUri, "v1"), Key, env);
        var tools = Parse(ToolsJson).EnumerateArray().ToDictionary(t => t.GetProperty("function").GetProperty("name").GetString()!, t => t.GetProperty("function").GetProperty("parameters"));

        void AssertCall(JsonElement result, string? expectedName, string at)
        {
            Assert.True(result.GetProperty("finish").GetString() == "tool_calls", $"{at}: {result}");
            var call = Assert.Single(result.GetProperty("calls").EnumerateArray());
            var name = call.GetProperty("name").GetString()!;
            Assert.True(tools.ContainsKey(name), $"{at}: called '{name}'");
            if (expectedName is not null)
            {
                Assert.Equal(expectedName, name);
            }
            Assert.StartsWith("call_", call.GetProperty("id").GetString(), StringComparison.Ordinal);
            var arguments = Parse(call.GetProperty("arguments").GetString()!);
            Assert.True(JsonSchemaSubset.Validate(arguments, tools[name]) is null, $"{at}: {arguments} {JsonSchemaSubset.Validate(arguments, tools[name])}");
        }

        var seed = 0;
        foreach (var result in r.GetProperty("required").EnumerateArray())
        {
            AssertCall(result, null, $"required seed {seed++}");
        }
        seed = 0;
        foreach (var result in r.GetProperty("named").EnumerateArray())
        {
            AssertCall(result, "get_time", $"named seed {seed++}");
        }

        // Streamed: id, type and name first with empty arguments, then argument deltas the client accumulates.
        var streamed = r.GetProperty("streamed");
        AssertCall(streamed, null, "streamed");
        var first = streamed.GetProperty("first");
        Assert.Equal(0, first.GetProperty("index").GetInt32());
        Assert.StartsWith("call_", first.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("function", first.GetProperty("type").GetString());
        Assert.Equal(streamed.GetProperty("calls")[0].GetProperty("name").GetString(), first.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("", first.GetProperty("function").GetProperty("arguments").GetString());
        Assert.True(streamed.GetProperty("rest").GetArrayLength() > 1, "the arguments arrived in one chunk");
        Assert.All(streamed.GetProperty("rest").EnumerateArray(), c => Assert.False(c.TryGetProperty("id", out _)));
        Assert.True(streamed.GetProperty("argumentDeltas").GetInt32() > 1);

        var unsupported = r.GetProperty("unsupported");
        Assert.Equal(JsonValueKind.Object, unsupported.ValueKind);
        Assert.Equal(400, unsupported.GetProperty("status").GetInt32());
        Assert.Equal("tools", unsupported.GetProperty("param").GetString());
        Assert.Contains("'pattern'", unsupported.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BatchLine_JsonSchema_HonouredAsOnline()
    {
        // /v1/batches lines run through the online handlers; this is the handler the batch worker calls for each line.
        var handler = _server.App.Services.GetRequiredService<IBatchRequestHandler>();
        var body = JsonNode.Parse($$$"""{"model":"{{{_server.Model}}}","messages":[{"role":"user","content":"JSON"}],"max_tokens":100,"temperature":1,"seed":4,"response_format":{"type":"json_schema","json_schema":{"name":"v","schema":""" + Schemas[2].Schema + "}}}")!.AsObject();
        var response = await handler.HandleAsync("/v1/chat/completions", body, "line-1", null, CancellationToken.None);
        Assert.True(response.StatusCode == 200, response.Body.ToJsonString());
        var choice = response.Body["choices"]![0]!;
        Assert.Equal("stop", choice["finish_reason"]!.GetValue<string>());
        var content = choice["message"]!["content"]!.GetValue<string>();
        Assert.True(JsonSchemaSubset.Validate(Parse(content), Parse(Schemas[2].Schema)) is null, content);
    }

    [Fact]
    public async Task ToolChoiceAuto_UnsupportedToolSchema_IsNotAnError()
    {
        var body = "{\"model\":\"" + _server.Model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4," +
            "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"parameters\":{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\",\"pattern\":\"^[A-Z]+$\"}}}}}]}";
        using var response = await _server.Client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}
