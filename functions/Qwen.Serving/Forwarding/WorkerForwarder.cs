using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Qwen.Serving.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Qwen.Serving.Forwarding;

/// <summary>The front: checks the client's key, then forwards the request to the GPU worker with YARP's <see cref="IHttpForwarder"/>
/// (bodies streamed both ways, SSE chunk by chunk; status, headers and error JSON unchanged). Mapped by both hosts.</summary>
/// <remarks>Thread-safe singleton; owns one pooled <see cref="HttpMessageInvoker"/>. A worker that cannot be reached gets the client
/// a 503 with OpenAI's error JSON and Retry-After, never a 500.</remarks>
public sealed partial class WorkerForwarder : IDisposable
{
    /// <summary>Header that carries the service credential to the worker (the Azure OpenAI convention the worker already reads).</summary>
    public const string ApiKeyHeader = "api-key";

    private readonly IHttpForwarder _forwarder;
    private readonly ApiKeyAuthorizer _authorizer;
    private readonly IServingMetrics _metrics;
    private readonly ForwardingMetrics _forwarding;
    private readonly ILogger<WorkerForwarder> _logger;
    private readonly WorkerForwardingOptions _options;
    private readonly HttpMessageInvoker _client;
    private readonly ServiceCredentialTransformer _transformer;
    private readonly ForwarderRequestConfig _requestConfig;
    private readonly string? _destination;

    /// <summary>Creates the forwarder; with no <see cref="WorkerForwardingOptions.BaseUri"/> it is disabled (<see cref="IsEnabled"/> false).</summary>
    public WorkerForwarder(
        IHttpForwarder forwarder, ApiKeyAuthorizer authorizer, IServingMetrics metrics, ForwardingMetrics forwarding,
        IOptions<WorkerForwardingOptions> options, ILogger<WorkerForwarder> logger)
    {
        _forwarder = forwarder;
        _authorizer = authorizer;
        _metrics = metrics;
        _forwarding = forwarding;
        _logger = logger;
        _options = options.Value;
        if (_options.BaseUri is { } uri)
        {
            if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new InvalidOperationException($"The worker address '{uri}' (--worker, Qwen__Worker__BaseUri) is not an absolute http(s) URI.");
            }
            // The request path is appended as is: a base of https://worker/ and /v1/models give https://worker/v1/models.
            _destination = uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        }
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            // A forwarder passes responses through as they are: no redirects followed, no decompression, no cookies, no proxy.
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = _options.ConnectTimeout,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
        });
        _transformer = new ServiceCredentialTransformer(_options.ApiKey, _options.RetryAfterSeconds, forwarding);
        _requestConfig = new ForwarderRequestConfig { ActivityTimeout = _options.ActivityTimeout };
    }

    /// <summary>True when a worker address is configured: this host is a front and holds no model.</summary>
    public bool IsEnabled => _destination is not null;

    /// <summary>Checks the client's key (unless <paramref name="authorize"/> is false, as for /ready), then forwards the request to the worker.</summary>
    /// <param name="context">The client's request; the answer is written to its response.</param>
    /// <param name="route">Label for /metrics.</param>
    /// <param name="authorize">Whether the client must present the API key.</param>
    public async Task ForwardAsync(HttpContext context, string route, bool authorize = true)
    {
        if (_destination is null)
        {
            throw new InvalidOperationException("No worker is configured (--worker, Qwen__Worker__BaseUri); this host serves the model itself.");
        }
        if (authorize)
        {
            try
            {
                _authorizer.Authorize(context);
            }
            catch (OpenAiException refused)
            {
                // Refused here, before any connection to the worker: a wrong key costs the GPU nothing.
                _forwarding.OnUnauthorized();
                await WriteErrorAsync(context, refused, null).ConfigureAwait(false);
                _metrics.RequestCompleted(route, refused.StatusCode);
                return;
            }
        }
        _forwarding.OnForwarded();
        var error = await _forwarder.SendAsync(context, _destination, _client, _requestConfig, _transformer).ConfigureAwait(false);
        if (error != ForwarderError.None)
        {
            var failure = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            if (context.RequestAborted.IsCancellationRequested)
            {
                LogClientGone(_logger, route, error);
                _metrics.RequestCompleted(route, 499);
                return;
            }
            LogForwardFailed(_logger, route, error, failure);
            if (!context.Response.HasStarted)
            {
                _forwarding.OnWorkerUnavailable();
                await WriteUnavailableAsync(context,
                    $"The model worker could not be reached ({error}). It may be starting; retry after {_options.RetryAfterSeconds} seconds.",
                    _options.RetryAfterSeconds).ConfigureAwait(false);
            }
            // Once the response has started (mid-stream failure) YARP has already aborted it; the client sees a cut stream.
        }
        _metrics.RequestCompleted(route, context.Response.StatusCode);
    }

    /// <summary>503 with OpenAI's error JSON and Retry-After.</summary>
    internal static Task WriteUnavailableAsync(HttpContext context, string message, int retryAfterSeconds) =>
        WriteErrorAsync(context, new OpenAiException(503, message, "server_error", null, "worker_unavailable"), retryAfterSeconds);

    private static async Task WriteErrorAsync(HttpContext context, OpenAiException error, int? retryAfterSeconds)
    {
        var bytes = OpenAiJson.Error(error);
        context.Response.Clear();
        context.Response.StatusCode = error.StatusCode;
        context.Response.ContentType = "application/json";
        if (retryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = ServiceCredentialTransformer.Seconds(seconds);
        }
        context.Response.ContentLength = bytes.Length;
        try
        {
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left; nothing more to tell it.
        }
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forwarding {Route} to the worker failed: {Error}")]
    private static partial void LogForwardFailed(ILogger logger, string route, ForwarderError error, Exception? exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The client left during forwarding of {Route} ({Error})")]
    private static partial void LogClientGone(ILogger logger, string route, ForwarderError error);
}
