using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Qwen.Serving.Http;

namespace Qwen.Serving.Batch;

/// <summary>Answers batch lines with the online endpoints' own handlers (<see cref="ChatCompletionsHandler.ChatCompletionsAsync"/>, <see cref="CompletionsHandler.CompletionsAsync"/>), so validation, tools/ReAct and the response shape are identical.</summary>
/// <remarks>Each line runs as an in-memory request from loopback carrying the configured API key. Thread-safe.</remarks>
public sealed class OpenAiHandlersBatchRequestHandler(ChatCompletionsHandler chat, CompletionsHandler completions, IOptions<HttpApiOptions> options) : IBatchRequestHandler
{
    /// <summary>The completions URL batch lines may target besides chat completions.</summary>
    public const string CompletionsUrl = "/v1/completions";

    /// <inheritdoc />
    public async Task<BatchItemResponse> HandleAsync(string url, JsonObject body, string requestId, string? owner, CancellationToken cancellationToken)
    {
        Func<HttpContext, Task>? handle = url switch
        {
            ChatCompletionsBatchHandler.ChatCompletionsUrl => chat.ChatCompletionsAsync,
            CompletionsUrl => completions.CompletionsAsync,
            _ => null,
        };
        if (handle is null)
        {
            return BatchItemResponse.Error(400, "invalid_url", $"The url '{url}' is not supported; batch lines target {ChatCompletionsBatchHandler.ChatCompletionsUrl} or {CompletionsUrl}.", "url");
        }
        if (body["stream"] is JsonValue stream && stream.TryGetValue<bool>(out var streaming) && streaming)
        {
            return BatchItemResponse.Error(400, "unsupported_parameter", "Batch requests cannot stream; remove 'stream'.", "stream");
        }
        var context = new DefaultHttpContext { RequestAborted = cancellationToken };
        context.Connection.RemoteIpAddress = IPAddress.Loopback;
        context.Request.Method = HttpMethods.Post;
        context.Request.Path = url;
        context.Request.ContentType = "application/json";
        context.Request.Headers["x-request-id"] = requestId;
        // The line runs with the server's own key (the first configured one) and carries the batch's owner the way a front
        // carries its client, so it is prefilled in the owner's prefix-cache scope and no other tenant's.
        if ((string.IsNullOrEmpty(options.Value.ApiKey) ? options.Value.ApiKeys.FirstOrDefault() : options.Value.ApiKey) is { Length: > 0 } key)
        {
            context.Request.Headers["api-key"] = key;
        }
        if (!string.IsNullOrEmpty(owner))
        {
            context.Request.Headers[CallerIdentity.ForwardedCallerHeader] = "batch:" + owner;
        }
        var bytes = System.Text.Encoding.UTF8.GetBytes(body.ToJsonString());
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        using var response = new MemoryStream();
        context.Response.Body = response;

        await handle(context).ConfigureAwait(false);
        // The handler answers nothing when its request is aborted; that is a stop, not an empty success.
        cancellationToken.ThrowIfCancellationRequested();

        var node = response.Length == 0 ? new JsonObject() : JsonNode.Parse(response.ToArray()) ?? new JsonObject();
        return new BatchItemResponse(context.Response.StatusCode, node);
    }
}
