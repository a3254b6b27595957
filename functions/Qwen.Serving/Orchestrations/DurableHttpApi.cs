using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using Qwen.Serving.Http;

namespace Qwen.Serving.Orchestrations;

/// <summary>The HTTP starters of the chat sessions and agent runs, shared by the hosts' thin adapters.</summary>
/// <remarks>
/// Routes: <c>POST /sessions</c>, <c>POST /sessions/{id}/messages</c>, <c>GET /sessions/{id}</c>, <c>DELETE /sessions/{id}</c>,
/// <c>POST /agents/runs</c>, <c>GET /agents/runs/{id}</c>, <c>POST /agents/runs/{id}/cancel</c>.
/// Bodies follow the OpenAI routes' rules (size cap, UTF-8 JSON object, typed fields, OpenAI error JSON). Every
/// instance records its owner (<see cref="CallerIdentity.Owner"/>); a caller with another key gets the same 404 as for
/// an id that does not exist, so ids cannot be probed.
/// </remarks>
public sealed class DurableHttpApi(ApiKeyAuthorizer authorizer, IOptions<HttpApiOptions> httpOptions, OrchestrationOptions options, TimeProvider time)
{
    private const int MaxIterationsLimit = 20;
    private const int MaxTokensLimit = 32_768;
    private const int MaxIdleSeconds = 7 * 24 * 3600;

    /// <summary><c>POST /sessions</c> with <c>{"system"?, "message"?, "idle_timeout_seconds"?, "max_tokens"?, "temperature"?}</c>: 202 with the session id.</summary>
    public Task<IActionResult> StartSessionAsync(DurableTaskClient client, HttpRequest request, CancellationToken cancellationToken)
        => RunAsync(request, async () =>
        {
            using var doc = await ReadAsync(request, allowEmpty: true, cancellationToken).ConfigureAwait(false);
            var body = doc?.RootElement;
            var idle = body is { } b ? OpenAiRequestReader.OptDouble(b, "idle_timeout_seconds", 0, MaxIdleSeconds, exclusiveMin: true) : null;
            var input = new ChatSessionInput
            {
                System = body is { } s ? OpenAiRequestReader.OptString(s, "system") : null,
                FirstMessage = body is { } m ? OpenAiRequestReader.OptString(m, "message") : null,
                IdleTimeout = TimeSpan.FromSeconds(idle ?? 1800),
                MaxTokens = body is { } t ? OpenAiRequestReader.OptInt(t, "max_tokens", 1, MaxTokensLimit) : null,
                Temperature = body is { } p ? OpenAiRequestReader.OptDouble(p, "temperature", 0, 2) : null,
                Owner = CallerIdentity.Owner(request.HttpContext),
            };
            var id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(ChatSessionOrchestration), input, cancellationToken).ConfigureAwait(false);
            return Accepted(id, $"/sessions/{id}");
        });

    /// <summary><c>POST /sessions/{id}/messages</c> with <c>{"content", "end"?}</c>: 202, 404 when there is no such session (or it is another caller's), 409 when it has ended.</summary>
    public Task<IActionResult> PostMessageAsync(DurableTaskClient client, string id, HttpRequest request, CancellationToken cancellationToken)
        => RunAsync(request, async () =>
        {
            using var doc = await ReadAsync(request, allowEmpty: false, cancellationToken).ConfigureAwait(false);
            var body = doc!.RootElement;
            var content = OpenAiRequestReader.OptString(body, "content");
            var end = OpenAiRequestReader.OptBool(body, "end") ?? false;
            if (!end && string.IsNullOrWhiteSpace(content))
            {
                throw OpenAiException.Invalid("content", """The body must be {"content": "<text>"} or {"end": true}.""");
            }
            var instance = await FindAsync(client, id, Session, request, cancellationToken).ConfigureAwait(false);
            if (instance.IsCompleted)
            {
                throw new OpenAiException(409, $"The chat session '{id}' has ended ({instance.RuntimeStatus}); start a new one with POST /sessions.", "invalid_request_error", null, "session_ended");
            }
            await client.RaiseEventAsync(id, ChatSessionOrchestration.UserMessageEvent, new ChatSessionMessage(content, end), cancellationToken).ConfigureAwait(false);
            return Accepted(id, $"/sessions/{id}");
        });

    /// <summary><c>GET /sessions/{id}</c>: runtime status, custom status (<see cref="ChatSessionStatus"/>) and output.</summary>
    public Task<IActionResult> GetSessionAsync(DurableTaskClient client, string id, HttpRequest request, CancellationToken cancellationToken)
        => RunAsync(request, async () => Describe(id, await FindAsync(client, id, Session, request, cancellationToken).ConfigureAwait(false)));

    /// <summary><c>DELETE /sessions/{id}</c>: ends the session if it runs, then purges its state and history.</summary>
    public Task<IActionResult> DeleteSessionAsync(DurableTaskClient client, string id, HttpRequest request, CancellationToken cancellationToken)
        => RunAsync(request, async () =>
        {
            var instance = await FindAsync(client, id, Session, request, cancellationToken).ConfigureAwait(false);
            await TerminateAndPurgeAsync(client, instance, "deleted by its owner", cancellationToken).ConfigureAwait(false);
            return new OkObjectResult(new JsonObject { ["id"] = id, ["object"] = "session", ["deleted"] = true });
        });

    /// <summary><c>POST /agents/runs</c> with <c>{"question", "tools"?, "max_iterations"?, "max_tokens"?, "temperature"?, "max_transcript_chars"?}</c>: 202 with the run id.</summary>
    public Task<IActionResult> StartAgentRunAsync(DurableTaskClient client, HttpRequest request, CancellationToken cancellationToken)
        => RunAsync(request, async () =>
        {
            using var doc = await ReadAsync(request, allowEmpty: false, cancellationToken).ConfigureAwait(false);
            var body = doc!.RootElement;
            var question = OpenAiRequestReader.OptString(body, "question");
            if (string.IsNullOrWhiteSpace(question))
            {
                throw OpenAiException.Invalid("question", """The body must be {"question": "<text>", "tools"?: ["calculator", ...], "max_iterations"?: 5}.""");
            }
            var tools = new List<string>();
            if (body.TryGetProperty("tools", out var list) && list.ValueKind != JsonValueKind.Null)
            {
                if (list.ValueKind != JsonValueKind.Array)
                {
                    throw OpenAiException.Invalid("tools", "'tools' must be an array of tool names.");
                }
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
                    {
                        throw OpenAiException.Invalid("tools", "'tools' must be an array of tool names (non-empty strings).");
                    }
                    tools.Add(item.GetString()!);
                }
            }
            var defaults = new AgentRunInput { Question = question };
            var input = defaults with
            {
                Tools = tools,
                MaxIterations = OpenAiRequestReader.OptInt(body, "max_iterations", 1, MaxIterationsLimit) ?? defaults.MaxIterations,
                MaxTokens = OpenAiRequestReader.OptInt(body, "max_tokens", 1, MaxTokensLimit) ?? defaults.MaxTokens,
                Temperature = OpenAiRequestReader.OptDouble(body, "temperature", 0, 2) ?? defaults.Temperature,
                MaxTranscriptChars = OpenAiRequestReader.OptInt(body, "max_transcript_chars", 1_000, 1_000_000) ?? defaults.MaxTranscriptChars,
                Owner = CallerIdentity.Owner(request.HttpContext),
            };
            var id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(ReActAgentOrchestration), input, cancellationToken).ConfigureAwait(false);
            return Accepted(id, $"/agents/runs/{id}");
        });

    /// <summary><c>GET /agents/runs/{id}</c>: runtime status, custom status (<see cref="AgentRunStatus"/>) and output (<see cref="AgentRunResult"/>).</summary>
    public Task<IActionResult> GetAgentRunAsync(DurableTaskClient client, string id, HttpRequest request, CancellationToken cancellationToken)
        => RunAsync(request, async () => Describe(id, await FindAsync(client, id, AgentRun, request, cancellationToken).ConfigureAwait(false)));

    /// <summary><c>POST /agents/runs/{id}/cancel</c>: terminates the run if it is still going, then purges its state and history.</summary>
    public Task<IActionResult> CancelAgentRunAsync(DurableTaskClient client, string id, HttpRequest request, CancellationToken cancellationToken)
        => RunAsync(request, async () =>
        {
            var instance = await FindAsync(client, id, AgentRun, request, cancellationToken).ConfigureAwait(false);
            var wasRunning = !instance.IsCompleted;
            await TerminateAndPurgeAsync(client, instance, "cancelled by its owner", cancellationToken).ConfigureAwait(false);
            return new OkObjectResult(new JsonObject { ["id"] = id, ["object"] = "agent.run", ["status"] = wasRunning ? "cancelled" : instance.RuntimeStatus.ToString(), ["purged"] = true });
        });

    /// <summary>Purges finished sessions and runs created more than <see cref="OrchestrationOptions.Retention"/> ago (the retention timer calls this).</summary>
    /// <returns>How many instances were purged.</returns>
    public async Task<int> PurgeExpiredAsync(DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        // A query then one purge per instance rather than PurgeAllInstancesAsync(filter): every backend (and the
        // in-process test host) supports these two calls, and an hourly timer has no need for the bulk form.
        var query = new OrchestrationQuery
        {
            CreatedTo = time.GetUtcNow() - options.Retention,
            Statuses = [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated],
            PageSize = 100,
        };
        var purged = 0;
        await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (instance.Name is nameof(ChatSessionOrchestration) or nameof(ReActAgentOrchestration))
            {
                var result = await client.PurgeInstanceAsync(instance.InstanceId, cancellationToken).ConfigureAwait(false);
                purged += result.PurgedInstanceCount;
            }
        }
        return purged;
    }

    private static readonly Kind Session = new(nameof(ChatSessionOrchestration), "chat session");
    private static readonly Kind AgentRun = new(nameof(ReActAgentOrchestration), "agent run");

    private sealed record Kind(string Orchestration, string What);

    // Not found, another orchestration's id and another owner's instance all look the same to the caller.
    private static async Task<OrchestrationMetadata> FindAsync(DurableTaskClient client, string id, Kind kind, HttpRequest request, CancellationToken cancellationToken)
    {
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        var owner = instance is null || instance.Name != kind.Orchestration ? null : ReadOwner(instance);
        if (owner is null || !string.Equals(owner, CallerIdentity.Owner(request.HttpContext), StringComparison.Ordinal))
        {
            throw new OpenAiException(404, $"There is no {kind.What} '{id}'.", "invalid_request_error", "id", "not_found");
        }
        return instance!;
    }

    private static string? ReadOwner(OrchestrationMetadata instance)
    {
        try
        {
            return JsonNode.Parse(instance.SerializedInput ?? "null")?["Owner"]?.GetValue<string>();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null; // an input without a readable owner belongs to nobody
        }
    }

    private static async Task TerminateAndPurgeAsync(DurableTaskClient client, OrchestrationMetadata instance, string reason, CancellationToken cancellationToken)
    {
        var id = instance.InstanceId;
        if (!instance.IsCompleted)
        {
            await client.TerminateInstanceAsync(id, reason, cancellationToken).ConfigureAwait(false);
            // Purge takes only finished instances; termination is processed asynchronously by the orchestration worker.
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromSeconds(30));
            await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: false, wait.Token).ConfigureAwait(false);
        }
        await client.PurgeInstanceAsync(id, cancellationToken).ConfigureAwait(false);
    }

    private static IActionResult Describe(string id, OrchestrationMetadata instance) => new OkObjectResult(new JsonObject
    {
        ["id"] = id,
        ["runtime_status"] = instance.RuntimeStatus.ToString(),
        ["created_at"] = instance.CreatedAt,
        ["last_updated_at"] = instance.LastUpdatedAt,
        ["custom_status"] = Parse(instance.SerializedCustomStatus),
        ["output"] = Parse(instance.SerializedOutput),
        ["failure"] = instance.FailureDetails?.ErrorMessage,
    });

    // One funnel: the key check (same key as the OpenAI endpoints), then the handler; OpenAiException becomes OpenAI error JSON.
    private async Task<IActionResult> RunAsync(HttpRequest request, Func<Task<IActionResult>> handler)
    {
        try
        {
            authorizer.Authorize(request.HttpContext);
            return await handler().ConfigureAwait(false);
        }
        catch (OpenAiException ex)
        {
            return Error(ex);
        }
    }

    private async Task<JsonDocument?> ReadAsync(HttpRequest request, bool allowEmpty, CancellationToken cancellationToken)
    {
        if (request.ContentLength == 0 && allowEmpty)
        {
            return null;
        }
        return await RequestBodyReader.ReadJsonAsync(request, httpOptions.Value.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false);
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

    private static AcceptedResult Accepted(string id, string location) => new(location, new JsonObject { ["id"] = id, ["status_uri"] = location });

    /// <summary>OpenAI's error shape, <c>{"error":{"message","type","param","code"}}</c>, with the exception's status.</summary>
    internal static ObjectResult Error(OpenAiException error) => new(new JsonObject
    {
        ["error"] = new JsonObject
        {
            ["message"] = error.Message,
            ["type"] = error.Type,
            ["param"] = error.Param,
            ["code"] = error.Code,
        },
    }) { StatusCode = error.StatusCode };
}
