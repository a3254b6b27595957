using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.DurableTask.Client;
using Qwen.Serving.Orchestrations;
using Qwen.Serving.Tests.Orchestrations;
using static Qwen.Functions.Tests.Orchestrations.FunctionsTestHost;

namespace Qwen.Functions.Tests.Orchestrations;

/// <summary>Sessions and agent runs belong to the key that started them; delete, cancel and retention purge them; their endpoints follow the OpenAI routes' input rules.</summary>
[Collection(DurableHostCollection.Name)]
public sealed class DurableOwnershipTests
{
    private static JsonObject Body(IActionResult result, int status)
    {
        var obj = Assert.IsAssignableFrom<ObjectResult>(result);
        Assert.True(status == (obj.StatusCode ?? 200), $"expected {status}, got {obj.StatusCode}: {(obj.Value as JsonNode)?.ToJsonString()}");
        return Assert.IsType<JsonObject>(obj.Value);
    }

    private static async Task WaitForAsync(DurableTaskClient client, string id, Func<OrchestrationMetadata, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true);
            if (instance is not null && until(instance))
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"instance {id} is {instance?.RuntimeStatus}; {instance?.SerializedCustomStatus}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Session_AnotherKey_Gets404OnEveryRoute_OwnerKeepsAccess()
    {
        await using var host = await StartAsync(new ScriptedChatTurnModel { Fallback = "ok" });
        var client = host.Host.Client;
        var id = Body(await host.Http.StartSession(Request("POST", """{"message": "my secret"}"""), client, default), 202)["id"]!.GetValue<string>();
        await WaitForAsync(client, id, i => i.SerializedCustomStatus?.Contains("\"Turns\":1", StringComparison.Ordinal) == true);

        var read = Body(await host.Http.GetSession(Request("GET", key: OtherKey), id, client, default), 404);
        Assert.Equal($"There is no chat session '{id}'.", read["error"]!["message"]!.GetValue<string>());
        Assert.Equal("not_found", read["error"]!["code"]!.GetValue<string>());
        Body(await host.Http.PostSessionMessage(Request("POST", """{"content": "hi"}""", key: OtherKey), id, client, default), 404);
        Body(await host.Http.DeleteSession(Request("DELETE", key: OtherKey), id, client, default), 404);

        // Nothing the other key did reached the session.
        var mine = Body(await host.Http.GetSession(Request("GET"), id, client, default), 200);
        Assert.Equal("Running", mine["runtime_status"]!.GetValue<string>());
        Assert.Equal(1, mine["custom_status"]!["Turns"]!.GetValue<int>());
        // The owner is stored as a hash, never as the key.
        var input = (await client.GetInstanceAsync(id, getInputsAndOutputs: true))!.SerializedInput!;
        Assert.DoesNotContain(ApiKey, input, StringComparison.Ordinal);
        Assert.Matches("\"Owner\":\"[0-9a-f]{32}\"", input);
    }

    [Fact]
    public async Task DeleteSession_Running_TerminatesAndPurges()
    {
        await using var host = await StartAsync(new ScriptedChatTurnModel { Fallback = "ok" });
        var client = host.Host.Client;
        var id = Body(await host.Http.StartSession(Request("POST", "{}"), client, default), 202)["id"]!.GetValue<string>();
        await WaitForAsync(client, id, i => i.RuntimeStatus == OrchestrationRuntimeStatus.Running);

        var deleted = Body(await host.Http.DeleteSession(Request("DELETE"), id, client, default), 200);

        Assert.True(deleted["deleted"]!.GetValue<bool>());
        Assert.Null(await client.GetInstanceAsync(id));
        Body(await host.Http.GetSession(Request("GET"), id, client, default), 404);
    }

    [Fact]
    public async Task CancelAgentRun_OtherKey404_OwnerTerminatesAndPurges()
    {
        // A model that never answers keeps the run in its first turn until it is cancelled.
        var model = new BlockingChatTurnModel();
        await using var host = await StartAsync(model);
        var client = host.Host.Client;
        var id = Body(await host.Http.StartAgentRun(Request("POST", """{"question": "q"}"""), client, default), 202)["id"]!.GetValue<string>();
        await model.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Body(await host.Http.CancelAgentRun(Request("POST", key: OtherKey), id, client, default), 404);
        var cancelled = Body(await host.Http.CancelAgentRun(Request("POST"), id, client, default), 200);

        Assert.Equal("cancelled", cancelled["status"]!.GetValue<string>());
        Assert.Null(await client.GetInstanceAsync(id));
    }

    [Fact]
    public async Task PurgeExpired_FinishedBeforeRetention_PurgedRunningKept()
    {
        await using var host = await StartAsync(new ScriptedChatTurnModel { Fallback = "ok" });
        var client = host.Host.Client;
        var finished = Body(await host.Http.StartSession(Request("POST", "{}"), client, default), 202)["id"]!.GetValue<string>();
        await WaitForAsync(client, finished, i => i.RuntimeStatus == OrchestrationRuntimeStatus.Running);
        Body(await host.Http.PostSessionMessage(Request("POST", """{"end": true}"""), finished, client, default), 202);
        await WaitForAsync(client, finished, i => i.RuntimeStatus == OrchestrationRuntimeStatus.Completed);
        var running = Body(await host.Http.StartSession(Request("POST", "{}"), client, default), 202)["id"]!.GetValue<string>();
        await WaitForAsync(client, running, i => i.RuntimeStatus == OrchestrationRuntimeStatus.Running);
        var api = (DurableHttpApi)host.Host.Services.GetService(typeof(DurableHttpApi))!;

        Assert.Equal(0, await api.PurgeExpiredAsync(client, default)); // within the retention period: kept
        host.Clock.Offset = new OrchestrationOptions().Retention + TimeSpan.FromHours(1);
        Assert.Equal(1, await api.PurgeExpiredAsync(client, default));

        Assert.Null(await client.GetInstanceAsync(finished));
        Assert.NotNull(await client.GetInstanceAsync(running));
    }

    [Theory]
    [InlineData("""{"idle_timeout_seconds": "soon"}""", "idle_timeout_seconds")]
    [InlineData("""{"idle_timeout_seconds": 0}""", "idle_timeout_seconds")]
    [InlineData("""{"max_tokens": 2147483648}""", "max_tokens")]
    [InlineData("""{"max_tokens": 0}""", "max_tokens")]
    [InlineData("""{"temperature": 9}""", "temperature")]
    [InlineData("""{"system": 42}""", "system")]
    [InlineData("""{"message": ["a"]}""", "message")]
    [InlineData("""{"message": "\ud800"}""", null)]
    [InlineData("""[1, 2]""", null)]
    [InlineData("""{"message": """, null)]
    public async Task StartSession_BadBody_400WithOpenAiErrorNamingTheField(string body, string? param)
    {
        await using var host = await StartAsync(new ScriptedChatTurnModel());

        var error = Body(await host.Http.StartSession(Request("POST", body), host.Host.Client, default), 400)["error"]!;

        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(param, error["param"]?.GetValue<string>());
    }

    [Fact]
    public async Task StartAgentRun_BodyOverTheCap_413()
    {
        await using var host = await StartAsync(new ScriptedChatTurnModel());
        var huge = "{\"question\": \"" + new string('x', 5 * 1024 * 1024) + "\"}";

        var error = Body(await host.Http.StartAgentRun(Request("POST", huge), host.Host.Client, default), 413)["error"]!;

        Assert.Equal("request_too_large", error["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task AgentRun_WorkerRejectsTurn_NotRetried_RunFailsWithReason()
    {
        var model = new RejectingChatTurnModel();
        await using var host = await StartAsync(model);
        var client = host.Host.Client;
        var id = Body(await host.Http.StartAgentRun(Request("POST", """{"question": "q"}"""), client, default), 202)["id"]!.GetValue<string>();

        await WaitForAsync(client, id, i => i.IsCompleted);
        var output = Body(await host.Http.GetAgentRun(Request("GET"), id, client, default), 200)["output"]!;

        Assert.Equal("failed", output["Status"]!.GetValue<string>());
        Assert.Contains("prompt is too long", output["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, model.Calls); // a 4xx is the same on every attempt: no retry
    }

    [Fact]
    public async Task AgentRun_TransientFailureOnce_RetriedThenAnswers()
    {
        var model = new FlakyChatTurnModel();
        await using var host = await StartAsync(model);
        var client = host.Host.Client;
        var id = Body(await host.Http.StartAgentRun(Request("POST", """{"question": "q"}"""), client, default), 202)["id"]!.GetValue<string>();

        await WaitForAsync(client, id, i => i.IsCompleted);
        var output = Body(await host.Http.GetAgentRun(Request("GET"), id, client, default), 200)["output"]!;

        Assert.True("answered" == output["Status"]!.GetValue<string>(), output.ToJsonString());
        Assert.Equal(2, model.Calls);
    }

    private sealed class FlakyChatTurnModel : IChatTurnModel
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<ChatTurnResult> GenerateAsync(ChatTurnRequest request, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _calls) == 1
                ? throw new HttpRequestException("The GPU worker answered 503 Service Unavailable.", null, System.Net.HttpStatusCode.ServiceUnavailable)
                : Task.FromResult(new ChatTurnResult("Thought: done\nFinal Answer: 7", "stop", 1, 1));
    }

    private sealed class BlockingChatTurnModel : IChatTurnModel
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<ChatTurnResult> GenerateAsync(ChatTurnRequest request, CancellationToken cancellationToken = default)
        {
            Started.TrySetResult();
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            return new ChatTurnResult("Thought: still thinking", "stop", 1, 1);
        }
    }

    private sealed class RejectingChatTurnModel : IChatTurnModel
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<ChatTurnResult> GenerateAsync(ChatTurnRequest request, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            throw new ChatTurnRejectedException(400, "The GPU worker refused the turn (400): the prompt is too long for the context.");
        }
    }
}
