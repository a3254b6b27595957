using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Qwen.Inference.Generation;

namespace Qwen.Serving.Http;

/// <summary>The error envelope every OpenAI handler runs in: key check, OpenAI error JSON for each failure (in-band once a stream has started), metrics.</summary>
/// <remarks>Thread-safe singleton shared by <see cref="ChatCompletionsHandler"/>, <see cref="CompletionsHandler"/>, <see cref="ModelsHandler"/>, <see cref="TokenizerHandler"/> and <see cref="HealthHandler"/>.</remarks>
public sealed partial class ApiRequestRunner(ApiKeyAuthorizer authorizer, IServingMetrics metrics, IOptions<HttpApiOptions> options, ILogger<ApiRequestRunner> logger)
{
    /// <summary>The API's settings.</summary>
    public HttpApiOptions Options => options.Value;

    /// <summary>Runs <paramref name="handler"/> for <paramref name="route"/>: checks the key when <paramref name="authorize"/>, answers any failure with OpenAI's error JSON and records the status.</summary>
    public async Task RunAsync(HttpContext context, string route, bool authorize, Func<Task> handler)
    {
        try
        {
            if (authorize)
            {
                authorizer.Authorize(context);
            }
            await handler().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; its generation was cancelled through the same token. Nothing to answer.
            LogClientDisconnected(logger, route);
            metrics.RequestCompleted(route, 499);
            return;
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            var error = ex switch
            {
                OpenAiException e => e,
                ContextLengthExceededException c => new OpenAiException(400,
                    $"This model's maximum context length is {c.ContextLength} tokens. However, your prompt has {c.PromptTokens} tokens. Shorten the messages.",
                    "invalid_request_error", "messages", "context_length_exceeded"),
                EngineBusyException b => new OpenAiException(429, b.Message, "requests", null, "rate_limit_exceeded") { RetryAfter = b.RetryAfter },
                // More choices than the engine decodes together can never run: the request is at fault, not the load.
                ChoiceCountExceededException n => new OpenAiException(400, n.Message, "invalid_request_error", "n", null),
                _ => null,
            };
            if (error is null)
            {
                LogUnhandled(logger, route, ex);
                error = new OpenAiException(500, "The server had an error while processing your request. Retry, and report it if it persists.", "server_error", null, null);
            }
            await WriteErrorAsync(context, error).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Mid-stream failure: the status line is gone, so report in-band as OpenAI does, then end the stream.
            LogUnhandled(logger, route, ex);
            var error = ex as OpenAiException ?? new OpenAiException(500, "The server had an error while streaming the response.", "server_error");
            try
            {
                await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(SseWriter.Frame(Encoding.UTF8.GetString(OpenAiJson.Error(error))))).ConfigureAwait(false);
            }
            catch (Exception writeFailure) when (writeFailure is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // The connection is already broken; nothing more can be told to this client.
            }
        }
        metrics.RequestCompleted(route, context.Response.StatusCode);
    }

    /// <summary>Reads the request's JSON object body (capped at <see cref="HttpApiOptions.MaxRequestBodyBytes"/>).</summary>
    public Task<JsonDocument> ReadJsonAsync(HttpContext context) =>
        RequestBodyReader.ReadJsonAsync(context.Request, Options.MaxRequestBodyBytes, context.RequestAborted);

    /// <summary>The model id this server serves: the configured name, else the package's.</summary>
    public string ServedModel(IGenerationEngine engine) =>
        string.IsNullOrEmpty(Options.ModelName) ? engine.Manifest.Name : Options.ModelName;

    /// <summary>Checks the request's <c>model</c> against the served one and returns the served id.</summary>
    /// <exception cref="OpenAiException">400 when missing, 404 when another model.</exception>
    public string CheckModel(IGenerationEngine engine, string? requested)
    {
        var served = ServedModel(engine);
        if (string.IsNullOrEmpty(requested))
        {
            throw OpenAiException.Invalid("model", $"'model' is required; this server serves '{served}'.");
        }
        if (!string.Equals(requested, served, StringComparison.Ordinal))
        {
            throw new OpenAiException(404, $"The model '{requested}' does not exist; this server serves '{served}'.", "invalid_request_error", "model", "model_not_found");
        }
        return served;
    }

    private static async Task WriteErrorAsync(HttpContext context, OpenAiException error)
    {
        var bytes = OpenAiJson.Error(error);
        context.Response.Clear();
        context.Response.StatusCode = error.StatusCode;
        context.Response.ContentType = "application/json";
        if (error.RetryAfter is { } retry)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (error.StatusCode == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Request to {Route} failed")]
    private static partial void LogUnhandled(ILogger logger, string route, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client disconnected from {Route}; its generation was cancelled")]
    private static partial void LogClientDisconnected(ILogger logger, string route);
}
