using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Qwen.Serving.Tests.Orchestrations;
using Qwen.Testing.Fuzzing;
using Xunit.Abstractions;
using static Qwen.Functions.Tests.Orchestrations.FunctionsTestHost;

namespace Qwen.Functions.Tests.Orchestrations;

/// <summary>Seeded mutations of valid session and agent-run requests through the Functions adapters: never a 5xx or an exception, every 4xx is OpenAI error JSON.</summary>
[Collection(DurableHostCollection.Name)]
public sealed class DurableRequestFuzzTests(ITestOutputHelper output)
{
    private const int Cases = 600;

    [Fact]
    public async Task Fuzz_SessionAndAgentRequests_No5xx_Every4xxIsOpenAiError()
    {
        await using var host = await StartAsync(new ScriptedChatTurnModel { Fallback = "Final Answer: ok" });
        var client = host.Host.Client;
        var session = ((JsonObject)((ObjectResult)await host.Http.StartSession(Request("POST", "{}"), client, default)).Value!)["id"]!.GetValue<string>();
        string[] sessionSeeds = ["""{"system":"Be brief.","message":"Hi","idle_timeout_seconds":60,"max_tokens":16,"temperature":0.5}"""];
        string[] messageSeeds = ["""{"content":"Hello again"}""", """{"end":false,"content":"x"}"""];
        string[] agentSeeds = ["""{"question":"What is 6*7?","tools":["calculator"],"max_iterations":2,"max_tokens":64,"temperature":0,"max_transcript_chars":4000}"""];
        var fuzzer = new RequestFuzzer(7);
        var histogram = new SortedDictionary<int, int>();

        for (var i = 0; i < Cases; i++)
        {
            var kind = i % 3;
            var body = fuzzer.Next(kind switch { 0 => sessionSeeds, 1 => messageSeeds, _ => agentSeeds });
            var request = RequestWithBytes(body);
            var result = kind switch
            {
                0 => await host.Http.StartSession(request, client, default),
                1 => await host.Http.PostSessionMessage(request, session, client, default),
                _ => await host.Http.StartAgentRun(request, client, default),
            };
            var obj = Assert.IsAssignableFrom<ObjectResult>(result);
            var status = obj.StatusCode ?? 200;
            histogram[status] = histogram.GetValueOrDefault(status) + 1;
            Assert.True(status < 500, $"case {i}: {status}");
            if (status >= 400)
            {
                var error = ((JsonObject)obj.Value!)["error"]!;
                Assert.Equal(JsonValueKind.String, error["message"]!.GetValueKind());
                Assert.Equal(JsonValueKind.String, error["type"]!.GetValueKind());
            }
        }

        output.WriteLine($"durable fuzz: {Cases} cases; status histogram {string.Join(", ", histogram.Select(h => $"{h.Key}: {h.Value}"))}");
        Assert.True(histogram.GetValueOrDefault(202) > Cases / 20, "too few cases stayed valid");
    }

    private static HttpRequest RequestWithBytes(byte[] body)
    {
        var request = Request("POST");
        request.Body = new MemoryStream(body);
        request.ContentLength = body.Length;
        return request;
    }
}
