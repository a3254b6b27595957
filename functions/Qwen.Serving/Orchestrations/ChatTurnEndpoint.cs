using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Qwen.Inference.Generation;

namespace Qwen.Serving.Orchestrations;

/// <summary>The GPU worker's side of <see cref="HttpChatTurnModel"/>: checks the API key, runs the turn on the local model, maps engine errors to HTTP.</summary>
public sealed class ChatTurnEndpoint(IChatTurnModel model, OrchestrationOptions options)
{
    /// <summary>Handles <c>POST internal/chat-turns</c>.</summary>
    public async Task<IActionResult> HandleAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!KeyMatches(request.Headers[HttpChatTurnModel.ApiKeyHeader].ToString(), options.ApiKey))
        {
            return Error(StatusCodes.Status401Unauthorized, $"Missing or wrong '{HttpChatTurnModel.ApiKeyHeader}' header.");
        }
        ChatTurnRequest? turn;
        try
        {
            turn = await JsonSerializer.DeserializeAsync<ChatTurnRequest>(request.Body, HttpChatTurnModel.Json, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return Error(StatusCodes.Status400BadRequest, $"The body is not a chat turn request: {ex.Message}");
        }
        if (turn is null || turn.Messages is null || turn.Messages.Count == 0)
        {
            return Error(StatusCodes.Status400BadRequest, "The chat turn request needs at least one message.");
        }
        try
        {
            return new OkObjectResult(await model.GenerateAsync(turn, cancellationToken).ConfigureAwait(false));
        }
        catch (ContextLengthExceededException ex)
        {
            return Error(StatusCodes.Status400BadRequest, ex.Message);
        }
        catch (EngineBusyException ex)
        {
            request.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(ex.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Error(StatusCodes.Status429TooManyRequests, ex.Message);
        }
    }

    private static ObjectResult Error(int status, string message) => new(new { error = new { message } }) { StatusCode = status };

    // With no key configured the endpoint is open (local development); Azure always sets Qwen__Serving__ApiKey.
    private static bool KeyMatches(string given, string? expected)
        => string.IsNullOrEmpty(expected)
           || CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected));
}
