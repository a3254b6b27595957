using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Qwen.Serving.Http;

/// <summary>Server-sent events as OpenAI frames them: <c>data: {json}\n\n</c> per chunk, then <c>data: [DONE]\n\n</c>.</summary>
public sealed class SseWriter
{
    private static readonly byte[] Prefix = "data: "u8.ToArray();
    private static readonly byte[] Suffix = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    private readonly HttpContext _context;

    private SseWriter(HttpContext context) => _context = context;

    /// <summary>Sends the 200 and event-stream headers; call only once the request is known to succeed.</summary>
    public static async Task<SseWriter> StartAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        // Tell reverse proxies (nginx, the Functions front end) not to buffer the stream.
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(context.RequestAborted).ConfigureAwait(false);
        return new SseWriter(context);
    }

    /// <summary>One event carrying a JSON payload, flushed at once.</summary>
    public async Task WriteAsync(byte[] json)
    {
        var frame = new byte[Prefix.Length + json.Length + Suffix.Length];
        Prefix.CopyTo(frame, 0);
        json.CopyTo(frame, Prefix.Length);
        Suffix.CopyTo(frame, Prefix.Length + json.Length);
        await _context.Response.Body.WriteAsync(frame, _context.RequestAborted).ConfigureAwait(false);
        await _context.Response.Body.FlushAsync(_context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The terminating <c>data: [DONE]</c> event.</summary>
    public async Task WriteDoneAsync()
    {
        await _context.Response.Body.WriteAsync(Done, _context.RequestAborted).ConfigureAwait(false);
        await _context.Response.Body.FlushAsync(_context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The frame bytes for a payload (for tests and logs).</summary>
    public static string Frame(string json) => Encoding.UTF8.GetString(Prefix) + json + "\n\n";
}
