using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Qwen.Inference.Generation;

namespace Qwen.Serving.Http;

/// <summary>The error funnel of the JSON (non-streaming) handlers outside <see cref="ApiRequestRunner"/>: key check, OpenAI error JSON for every failure, metrics.</summary>
internal static partial class OpenAiEndpoint
{
    /// <summary>Runs <paramref name="handler"/>; any exception becomes OpenAI's error JSON (4xx for <see cref="OpenAiException"/>, else 500).</summary>
    public static async Task RunAsync(HttpContext context, ApiKeyAuthorizer authorizer, IServingMetrics metrics, ILogger logger, string route, Func<Task> handler)
    {
        try
        {
            authorizer.Authorize(context);
            await handler().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            metrics.RequestCompleted(route, 499);
            return;
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            var error = ex as OpenAiException;
            if (error is null)
            {
                LogUnhandled(logger, route, ex);
                error = ex is EngineBusyException busy
                    ? new OpenAiException(429, busy.Message, "requests", null, "rate_limit_exceeded") { RetryAfter = busy.RetryAfter }
                    : new OpenAiException(500, "The server had an error while processing your request. Retry, and report it if it persists.", "server_error");
            }
            var bytes = OpenAiJson.Error(error);
            context.Response.Clear();
            context.Response.StatusCode = error.StatusCode;
            context.Response.ContentType = "application/json";
            if (error.RetryAfter is { } retry)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }
            if (error.StatusCode == 401)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
            }
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The body had started (a file download broke off): nothing more can be said to this client.
            LogUnhandled(logger, route, ex);
        }
        metrics.RequestCompleted(route, context.Response.StatusCode);
    }

    /// <summary>Writes <paramref name="node"/> as the 200 response.</summary>
    public static Task WriteAsync(HttpContext context, JsonNode node, int statusCode = 200)
        => OpenAiJson.WriteAsync(context, statusCode, w => node.WriteTo(w));

    /// <summary>Reads a JSON object body of at most <paramref name="limit"/> bytes.</summary>
    /// <exception cref="OpenAiException">413 when larger, 400 when not a JSON object.</exception>
    public static async Task<JsonObject> ReadObjectAsync(HttpContext context, long limit)
    {
        // The API's one body reader: the cap while reading (413), UTF-8, a JSON object, no escaped lone surrogates (400).
        using var doc = await RequestBodyReader.ReadJsonAsync(context.Request, limit, context.RequestAborted).ConfigureAwait(false);
        return JsonObject.Create(doc.RootElement.Clone())!;
    }

    /// <summary>An optional string field; 400 when present with another type.</summary>
    public static string? OptString(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw OpenAiException.Invalid(name, $"'{name}' must be a string."),
    };

    /// <summary>An optional integer query parameter within [min, max].</summary>
    public static int QueryInt(HttpContext context, string name, int fallback, int min, int max)
    {
        var text = context.Request.Query[name].ToString();
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw OpenAiException.Invalid(name, $"'{name}' is '{text}'; use an integer from {min} to {max}.");
        }
        return value;
    }

    /// <summary>OpenAI's cursor page: <c>{"object":"list","data","first_id","last_id","has_more"}</c>, <paramref name="limit"/> items after the id <paramref name="after"/>.</summary>
    public static JsonObject Page(IReadOnlyList<(string Id, JsonNode Item)> ordered, string? after, int limit)
    {
        var start = 0;
        if (!string.IsNullOrEmpty(after))
        {
            var at = ordered.ToList().FindIndex(i => i.Id == after);
            start = at < 0 ? ordered.Count : at + 1;
        }
        var page = ordered.Skip(start).Take(limit).ToList();
        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(page.Select(p => p.Item).ToArray()),
            ["first_id"] = page.Count > 0 ? page[0].Id : null,
            ["last_id"] = page.Count > 0 ? page[^1].Id : null,
            ["has_more"] = start + page.Count < ordered.Count,
        };
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Request to {Route} failed")]
    private static partial void LogUnhandled(ILogger logger, string route, Exception exception);
}
