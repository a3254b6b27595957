using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Qwen.Serving.Orchestrations;

namespace Qwen.Functions.Orchestrations;

/// <summary>HTTP starters for chat sessions and agent runs, and the GPU worker's chat-turn endpoint; thin adapters over <see cref="DurableHttpApi"/> and <see cref="ChatTurnEndpoint"/>.</summary>
public sealed class DurableHttpFunctions(DurableHttpApi api, ChatTurnEndpoint chatTurn)
{
    /// <summary>POST /sessions.</summary>
    [Function("StartSession")]
    public Task<IActionResult> StartSession(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "sessions")] HttpRequest request,
        [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
        => api.StartSessionAsync(client, request, cancellationToken);

    /// <summary>POST /sessions/{id}/messages.</summary>
    [Function("PostSessionMessage")]
    public Task<IActionResult> PostSessionMessage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "sessions/{id}/messages")] HttpRequest request,
        string id, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
        => api.PostMessageAsync(client, id, request, cancellationToken);

    /// <summary>GET /sessions/{id}.</summary>
    [Function("GetSession")]
    public Task<IActionResult> GetSession(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "sessions/{id}")] HttpRequest request,
        string id, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
        => api.GetSessionAsync(client, id, request, cancellationToken);

    /// <summary>DELETE /sessions/{id}: end and purge.</summary>
    [Function("DeleteSession")]
    public Task<IActionResult> DeleteSession(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "sessions/{id}")] HttpRequest request,
        string id, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
        => api.DeleteSessionAsync(client, id, request, cancellationToken);

    /// <summary>POST /agents/runs.</summary>
    [Function("StartAgentRun")]
    public Task<IActionResult> StartAgentRun(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "agents/runs")] HttpRequest request,
        [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
        => api.StartAgentRunAsync(client, request, cancellationToken);

    /// <summary>GET /agents/runs/{id}.</summary>
    [Function("GetAgentRun")]
    public Task<IActionResult> GetAgentRun(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "agents/runs/{id}")] HttpRequest request,
        string id, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
        => api.GetAgentRunAsync(client, id, request, cancellationToken);

    /// <summary>POST /agents/runs/{id}/cancel: terminate and purge.</summary>
    [Function("CancelAgentRun")]
    public Task<IActionResult> CancelAgentRun(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "agents/runs/{id}/cancel")] HttpRequest request,
        string id, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
        => api.CancelAgentRunAsync(client, id, request, cancellationToken);

    /// <summary>Hourly: purges sessions and agent runs that finished more than the retention period ago, so Durable history stays bounded.</summary>
    [Function("PurgeExpiredInstances")]
    public Task PurgeExpiredInstances(
        [TimerTrigger("0 17 * * * *")] TimerInfo timer,
        [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
        => api.PurgeExpiredAsync(client, cancellationToken);

    /// <summary>POST internal/chat-turns (GPU worker): one turn for the API app's orchestrations.</summary>
    [Function("ChatTurn")]
    public Task<IActionResult> ChatTurn(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = HttpChatTurnModel.Route)] HttpRequest request,
        CancellationToken cancellationToken)
        => chatTurn.HandleAsync(request, cancellationToken);
}
