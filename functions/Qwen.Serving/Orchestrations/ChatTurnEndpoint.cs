using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Qwen.Inference.Generation;
using Qwen.Serving.Http;

namespace Qwen.Serving.Orchestrations;

/// <summary>The GPU worker's side of <see cref="HttpChatTurnModel"/>: checks the key (the service credential), runs the turn on the local model, maps engine errors to HTTP.</summary>
/// <remarks>The body is read up to <see cref="HttpApiOptions.MaxRequestBodyBytes"/> and no further (413 beyond), like the OpenAI routes.</remarks>
public sealed class ChatTurnEndpoint(IChatTurnModel model, ApiKeyAuthorizer authorizer, IOptions<HttpApiOptions> options)
{
    /// <summary>Handles <c>POST internal/chat-turns</c>.</summary>
    public async Task<IActionResult> HandleAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ChatTurnRequest? turn;
        try
        {
            authorizer.Authorize(request.HttpContext);
            // The API's one body reader: the cap while reading (413, Qwen__Serving__MaxRequestBodyBytes), UTF-8, a JSON object.
            using var body = await RequestBodyReader.ReadJsonAsync(request, options.Value.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false);
            turn = body.RootElement.Deserialize<ChatTurnRequest>(HttpChatTurnModel.Json);
        }
        catch (OpenAiException ex)
        {
            return Error(ex.StatusCode, ex.Message);
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
        catch (ArgumentException ex)
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
}
