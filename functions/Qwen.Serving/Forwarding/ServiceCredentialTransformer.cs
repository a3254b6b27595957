using System.Globalization;
using Microsoft.AspNetCore.Http;
using Qwen.Serving.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Qwen.Serving.Forwarding;

/// <summary>YARP's default transform plus two rules: the client's key is replaced by the service credential on the way in, and
/// an answer of the worker's ingress that is not the API's own (a plain-text 502/503/504 while a replica starts) becomes
/// OpenAI's error JSON with Retry-After on the way out.</summary>
internal sealed class ServiceCredentialTransformer(string? serviceKey, int retryAfterSeconds, ForwardingMetrics metrics) : HttpTransformer
{
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        // The client's key authenticated the client to the front; the worker must never see it (it accepts only the service credential).
        proxyRequest.Headers.Remove("Authorization");
        proxyRequest.Headers.Remove(WorkerForwarder.ApiKeyHeader);
        // Who the client is, as an opaque hash, so the worker keeps clients' prefix caches apart (CallerIdentity.CacheScope).
        proxyRequest.Headers.Remove(CallerIdentity.ForwardedCallerHeader);
        proxyRequest.Headers.TryAddWithoutValidation(CallerIdentity.ForwardedCallerHeader, CallerIdentity.ForwardedCaller(httpContext));
        if (!string.IsNullOrEmpty(serviceKey))
        {
            proxyRequest.Headers.TryAddWithoutValidation(WorkerForwarder.ApiKeyHeader, serviceKey);
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var copy = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
        if (proxyResponse is null || !IsGatewayFailure((int)proxyResponse.StatusCode) || IsJson(proxyResponse))
        {
            // The worker's own answers (429 with Retry-After, 4xx error JSON, 503 while it loads) pass through unchanged.
            return copy;
        }
        var retry = proxyResponse.Headers.RetryAfter?.Delta is { } delta
            ? Math.Max(1, (int)Math.Ceiling(delta.TotalSeconds))
            : retryAfterSeconds;
        metrics.OnWorkerUnavailable();
        await WorkerForwarder.WriteUnavailableAsync(httpContext,
            $"The model worker is starting or unavailable (its gateway answered {(int)proxyResponse.StatusCode}). Retry after {retry} seconds.", retry).ConfigureAwait(false);
        return false;
    }

    private static bool IsGatewayFailure(int status) => status is 502 or 503 or 504;

    private static bool IsJson(HttpResponseMessage response) =>
        response.Content.Headers.ContentType?.MediaType?.EndsWith("json", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>The Retry-After value in whole seconds, as the handlers write it.</summary>
    internal static string Seconds(int seconds) => seconds.ToString(CultureInfo.InvariantCulture);
}
