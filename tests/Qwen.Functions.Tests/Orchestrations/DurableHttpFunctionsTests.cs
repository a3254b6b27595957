using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Qwen.Serving.Http;
using Qwen.Serving.Orchestrations;
using Qwen.Serving.Tests.Orchestrations;
using static Qwen.Functions.Tests.Orchestrations.FunctionsTestHost;

namespace Qwen.Functions.Tests.Orchestrations;

[Collection(DurableHostCollection.Name)]
public sealed class DurableHttpFunctionsTests
{
    private static JsonObject Body(IActionResult result, int status)
    {
        var obj = Assert.IsAssignableFrom<ObjectResult>(result);
        Assert.True(status == (obj.StatusCode ?? 200), $"expected {status}, got {obj.StatusCode}: {(obj.Value as JsonNode)?.ToJsonString()}");
        return Assert.IsType<JsonObject>(obj.Value);
    }

    private static async Task<JsonObject> PollAsync(Func<Task<IActionResult>> get, Func<JsonObject, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var body = Body(await get(), 200);
            if (until(body))
            {
                return body;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Last state: " + body.ToJsonString());
            }
            await Task.Delay(50);
        }
    }

    // Custom status and output are serialized by the Durable Task data converter (System.Text.Json defaults: PascalCase).
    [Fact]
    public async Task Sessions_StartMessageEnd_ThroughTheFunctionAdapters()
    {
        var model = new ScriptedChatTurnModel("Hello!", "It is 2.");
        await using var host = await StartAsync(model);
        var client = host.Host.Client;

        var started = Body(await host.Http.StartSession(Request("POST", """{"message": "Hi", "system": "Be brief."}"""), client, default), 202);
        var id = started["id"]!.GetValue<string>();
        Assert.Equal($"/sessions/{id}", started["status_uri"]!.GetValue<string>());

        var first = await PollAsync(() => host.Http.GetSession(Request("GET"), id, client, default),
            b => b["custom_status"]?["Turns"]?.GetValue<int>() == 1);
        Assert.Equal("Hello!", first["custom_status"]!["LastAnswer"]!.GetValue<string>());
        Assert.Equal("Running", first["runtime_status"]!.GetValue<string>());

        Body(await host.Http.PostSessionMessage(Request("POST", """{"content": "1+1?"}"""), id, client, default), 202);
        await PollAsync(() => host.Http.GetSession(Request("GET"), id, client, default), b => b["custom_status"]?["Turns"]?.GetValue<int>() == 2);
        Body(await host.Http.PostSessionMessage(Request("POST", """{"end": true}"""), id, client, default), 202);
        var done = await PollAsync(() => host.Http.GetSession(Request("GET"), id, client, default), b => b["runtime_status"]!.GetValue<string>() == "Completed");

        Assert.Equal("ended_by_user", done["output"]!["EndReason"]!.GetValue<string>());
        Assert.Equal("It is 2.", done["output"]!["LastAnswer"]!.GetValue<string>());
        Assert.Equal("Be brief.", model.Requests.First().System);
        var ended = Body(await host.Http.PostSessionMessage(Request("POST", """{"content": "more"}"""), id, client, default), 409);
        Assert.StartsWith($"The chat session '{id}' has ended (Completed)", ended["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sessions_UnknownIdOrMissingKey_404And401()
    {
        await using var host = await StartAsync(new ScriptedChatTurnModel());
        var client = host.Host.Client;

        var missing = Body(await host.Http.GetSession(Request("GET"), "nope", client, default), 404);
        Assert.Equal("There is no chat session 'nope'.", missing["error"]!["message"]!.GetValue<string>());
        var noKey = Body(await host.Http.StartSession(Request("POST", "{}", key: null), client, default), 401);
        Assert.StartsWith("You didn't provide an API key.", noKey["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var badBody = Body(await host.Http.PostSessionMessage(Request("POST", """{"content": ""}"""), "x", client, default), 400);
        Assert.Equal("""The body must be {"content": "<text>"} or {"end": true}.""", badBody["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task AgentRuns_StartAndGet_RunsTheAllowListedTool()
    {
        var model = new ScriptedChatTurnModel(
            "Thought: compute.\nAction: calculator\nAction Input: {\"expression\": \"6*7\"}\n",
            "Thought: I now know the final answer\nFinal Answer: 42");
        await using var host = await StartAsync(model);
        var client = host.Host.Client;

        var started = Body(await host.Http.StartAgentRun(Request("POST", """{"question": "6*7?", "tools": ["calculator"], "max_iterations": 3}"""), client, default), 202);
        var id = started["id"]!.GetValue<string>();
        var done = await PollAsync(() => host.Http.GetAgentRun(Request("GET"), id, client, default), b => b["runtime_status"]!.GetValue<string>() == "Completed");

        var output = done["output"]!;
        Assert.Equal("answered", output["Status"]!.GetValue<string>());
        Assert.Equal("42", output["Answer"]!.GetValue<string>());
        Assert.Equal("42", output["Steps"]![0]!["Observation"]!.GetValue<string>());
        Assert.Contains("should be one of [calculator]\n", model.Requests.First().Messages[0].Content, StringComparison.Ordinal);

        var bad = Body(await host.Http.StartAgentRun(Request("POST", """{"question": "q", "max_iterations": 99}"""), client, default), 400);
        Assert.Equal("'max_iterations' is 99; it must be between 1 and 20.", bad["error"]!["message"]!.GetValue<string>());
        Assert.Equal("max_iterations", bad["error"]!["param"]!.GetValue<string>());
        Body(await host.Http.GetAgentRun(Request("GET"), id + "x", client, default), 404);
    }

    [Fact]
    public async Task ChatTurn_WorkerEndpoint_RunsTheLocalModel()
    {
        var model = new ScriptedChatTurnModel("local answer");
        await using var host = await StartAsync(model);

        var result = await host.Http.ChatTurn(Request("POST", """{"messages": [{"role": "user", "content": "hi"}], "maxTokens": 5}"""), default);

        var ok = Assert.IsType<OkObjectResult>(result);
        Assert.Equal(new ChatTurnResult("local answer", "stop", 10, 12), ok.Value);
        Assert.Equal(5, Assert.Single(model.Requests).MaxTokens);
        var denied = Assert.IsType<ObjectResult>(await host.Http.ChatTurn(Request("POST", "{}", key: "wrong"), default));
        Assert.Equal(401, denied.StatusCode);
    }

    [Fact]
    public async Task ChatTurn_BodyOverTheLimit_413WithoutReadingFurther()
    {
        var model = new ScriptedChatTurnModel("never");
        await using var host = await StartAsync(model);
        var huge = "{\"messages\": [{\"role\": \"user\", \"content\": \"" + new string('x', (int)new HttpApiOptions().MaxRequestBodyBytes) + "\"}]}";

        var declared = Assert.IsType<ObjectResult>(await host.Http.ChatTurn(Request("POST", huge), default));
        Assert.Equal(413, declared.StatusCode);
        var chunked = Request("POST", huge);
        chunked.ContentLength = null; // no Content-Length: the cap applies while reading
        var streamed = Assert.IsType<ObjectResult>(await host.Http.ChatTurn(chunked, default));
        Assert.Equal(413, streamed.StatusCode);
        Assert.Empty(model.Requests);
    }
}
