using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.DurableTask.Client;
using Qwen.Serving.Http;

namespace Qwen.Serving.Orchestrations;

/// <summary>The HTTP starters of the chat sessions and agent runs, shared by the hosts' thin adapters.</summary>
/// <remarks>Routes: <c>POST /sessions</c>, <c>POST /sessions/{id}/messages</c>, <c>GET /sessions/{id}</c>, <c>POST /agents/runs</c>, <c>GET /agents/runs/{id}</c>.</remarks>
public sealed class DurableHttpApi(ApiKeyAuthorizer authorizer)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private const int MaxIterationsLimit = 20;

    /// <summary><c>POST /sessions</c> with <c>{"system"?, "message"?, "idle_timeout_seconds"?, "max_tokens"?, "temperature"?}</c>: 202 with the session id.</summary>
    public async Task<IActionResult> StartSessionAsync(DurableTaskClient client, HttpRequest request, CancellationToken cancellationToken)
    {
        if (Deny(request) is { } denied)
        {
            return denied;
        }
        var body = await ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return Error(400, "The body must be a JSON object (it may be empty: {}).");
        }
        var idle = body["idle_timeout_seconds"]?.GetValue<double>() ?? 1800;
        if (idle is <= 0 or > 7 * 24 * 3600)
        {
            return Error(400, $"idle_timeout_seconds is {idle}; use 1 to {7 * 24 * 3600}.");
        }
        var input = new ChatSessionInput
        {
            System = body["system"]?.GetValue<string>(),
            FirstMessage = body["message"]?.GetValue<string>(),
            IdleTimeout = TimeSpan.FromSeconds(idle),
            MaxTokens = body["max_tokens"]?.GetValue<int>(),
            Temperature = body["temperature"]?.GetValue<double>(),
        };
        var id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(ChatSessionOrchestration), input, cancellationToken).ConfigureAwait(false);
        return Accepted(id, $"/sessions/{id}");
    }

    /// <summary><c>POST /sessions/{id}/messages</c> with <c>{"content", "end"?}</c>: 202, 404 when there is no such session, 409 when it has ended.</summary>
    public async Task<IActionResult> PostMessageAsync(DurableTaskClient client, string id, HttpRequest request, CancellationToken cancellationToken)
    {
        if (Deny(request) is { } denied)
        {
            return denied;
        }
        var body = await ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var content = body?["content"]?.GetValue<string>();
        var end = body?["end"]?.GetValue<bool>() ?? false;
        if (!end && string.IsNullOrWhiteSpace(content))
        {
            return Error(400, """The body must be {"content": "<text>"} or {"end": true}.""");
        }
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (instance is null || instance.Name != nameof(ChatSessionOrchestration))
        {
            return Error(404, $"There is no chat session '{id}'.");
        }
        if (instance.IsCompleted)
        {
            return Error(409, $"The chat session '{id}' has ended ({instance.RuntimeStatus}); start a new one with POST /sessions.");
        }
        await client.RaiseEventAsync(id, ChatSessionOrchestration.UserMessageEvent, new ChatSessionMessage(content, end), cancellationToken).ConfigureAwait(false);
        return Accepted(id, $"/sessions/{id}");
    }

    /// <summary><c>GET /sessions/{id}</c>: runtime status, custom status (<see cref="ChatSessionStatus"/>) and output.</summary>
    public Task<IActionResult> GetSessionAsync(DurableTaskClient client, string id, HttpRequest request, CancellationToken cancellationToken)
        => Deny(request) is { } denied ? Task.FromResult<IActionResult>(denied) : GetAsync(client, id, nameof(ChatSessionOrchestration), "chat session", cancellationToken);

    /// <summary><c>POST /agents/runs</c> with <c>{"question", "tools"?, "max_iterations"?}</c>: 202 with the run id.</summary>
    public async Task<IActionResult> StartAgentRunAsync(DurableTaskClient client, HttpRequest request, CancellationToken cancellationToken)
    {
        if (Deny(request) is { } denied)
        {
            return denied;
        }
        var body = await ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var question = body?["question"]?.GetValue<string>();
        if (string.IsNullOrWhiteSpace(question))
        {
            return Error(400, """The body must be {"question": "<text>", "tools"?: ["calculator", ...], "max_iterations"?: 5}.""");
        }
        var maxIterations = body!["max_iterations"]?.GetValue<int>() ?? 5;
        if (maxIterations is < 1 or > MaxIterationsLimit)
        {
            return Error(400, $"max_iterations is {maxIterations}; use 1 to {MaxIterationsLimit}.");
        }
        var tools = body["tools"] is JsonArray array ? array.Select(t => t?.GetValue<string>() ?? "").ToArray() : [];
        var input = new AgentRunInput { Question = question, Tools = tools, MaxIterations = maxIterations };
        var id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(ReActAgentOrchestration), input, cancellationToken).ConfigureAwait(false);
        return Accepted(id, $"/agents/runs/{id}");
    }

    /// <summary><c>GET /agents/runs/{id}</c>: runtime status, custom status (<see cref="AgentRunStatus"/>) and output (<see cref="AgentRunResult"/>).</summary>
    public Task<IActionResult> GetAgentRunAsync(DurableTaskClient client, string id, HttpRequest request, CancellationToken cancellationToken)
        => Deny(request) is { } denied ? Task.FromResult<IActionResult>(denied) : GetAsync(client, id, nameof(ReActAgentOrchestration), "agent run", cancellationToken);

    private static async Task<IActionResult> GetAsync(DurableTaskClient client, string id, string orchestration, string what, CancellationToken cancellationToken)
    {
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (instance is null || instance.Name != orchestration)
        {
            return Error(404, $"There is no {what} '{id}'.");
        }
        return new OkObjectResult(new JsonObject
        {
            ["id"] = id,
            ["runtime_status"] = instance.RuntimeStatus.ToString(),
            ["created_at"] = instance.CreatedAt,
            ["last_updated_at"] = instance.LastUpdatedAt,
            ["custom_status"] = Parse(instance.SerializedCustomStatus),
            ["output"] = Parse(instance.SerializedOutput),
            ["failure"] = instance.FailureDetails?.ErrorMessage,
        });
    }

    // The same key as the OpenAI endpoints ('api-key' or 'Authorization: Bearer').
    private ObjectResult? Deny(HttpRequest request)
    {
        try
        {
            authorizer.Authorize(request.HttpContext);
            return null;
        }
        catch (OpenAiException ex)
        {
            return Error(ex.StatusCode, ex.Message);
        }
    }

    private static JsonNode? Parse(string? serialized)
    {
        if (string.IsNullOrEmpty(serialized))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(serialized);
        }
        catch (JsonException)
        {
            return JsonValue.Create(serialized); // not JSON (a failure text): pass it through as a string
        }
    }

    private static async Task<JsonObject?> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            if (request.ContentLength == 0)
            {
                return [];
            }
            return await JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken).ConfigureAwait(false) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static AcceptedResult Accepted(string id, string location) => new(location, new JsonObject { ["id"] = id, ["status_uri"] = location });

    private static ObjectResult Error(int status, string message) => new(new JsonObject { ["error"] = new JsonObject { ["message"] = message } }) { StatusCode = status };
}
