using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Qwen.Serving.Http;

/// <summary>Checks the one API key: <c>Authorization: Bearer &lt;key&gt;</c> (OpenAI clients) or <c>api-key: &lt;key&gt;</c> (Azure OpenAI clients).</summary>
public sealed class ApiKeyAuthorizer(IOptions<HttpApiOptions> options)
{
    /// <summary>Throws 401 unless the request carries the configured key; with no key configured, only loopback callers pass (and only if the host allows it).</summary>
    /// <exception cref="OpenAiException">401 with code invalid_api_key.</exception>
    public void Authorize(HttpContext context)
    {
        var o = options.Value;
        if (string.IsNullOrEmpty(o.ApiKey) && o.ApiKeys.Count == 0)
        {
            if (o.AllowLoopbackWithoutKey && context.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip))
            {
                // A same-host reverse proxy or an ssh tunnel also connects from loopback while relaying the internet;
                // proxies announce themselves with these headers, and a keyless server serves only direct callers.
                if (ProxyHeader(context.Request) is { } header)
                {
                    throw Unauthorized($"This server has no API key, so it serves direct loopback callers only; this request came through a proxy ({header} header). Start the server with --api-key to serve through a proxy.");
                }
                return;
            }
            throw Unauthorized(o.AllowLoopbackWithoutKey
                ? "This server has no API key configured, so it serves loopback callers only. Start it with --api-key to serve other hosts."
                : "No API key is configured on the server (app setting Qwen__Serving__ApiKey), so every request is refused. Set the key and send it as 'Authorization: Bearer <key>' or 'api-key: <key>'.");
        }
        var presented = PresentedKey(context.Request);
        if (presented is null)
        {
            throw Unauthorized("You didn't provide an API key. Send it as 'Authorization: Bearer <key>' or 'api-key: <key>'.");
        }
        var bytes = Encoding.UTF8.GetBytes(presented);
        // Every configured key is compared (no early exit), each in constant time, so timing says nothing about which.
        var match = false;
        foreach (var key in o.ApiKeys.Prepend(o.ApiKey))
        {
            match |= !string.IsNullOrEmpty(key) && CryptographicOperations.FixedTimeEquals(bytes, Encoding.UTF8.GetBytes(key));
        }
        if (!match)
        {
            throw Unauthorized("Incorrect API key provided.");
        }
    }

    private static readonly string[] ProxyHeaders = ["Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Via"];

    private static string? ProxyHeader(HttpRequest request) => ProxyHeaders.FirstOrDefault(request.Headers.ContainsKey);

    /// <summary>The key the request presents (<c>api-key</c>, else <c>Authorization: Bearer</c>), or null.</summary>
    internal static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue("api-key", out var apiKey) && !string.IsNullOrEmpty(apiKey))
        {
            return apiKey.ToString();
        }
        var auth = request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        return auth.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) ? auth[Bearer.Length..].Trim() : null;
    }

    private static OpenAiException Unauthorized(string message) =>
        new(401, message, "invalid_request_error", null, "invalid_api_key");
}
