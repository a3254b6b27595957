using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Qwen.Serving.Http;

/// <summary>Reads a request body as a JSON object under a size cap: one set of rules for every JSON route (OpenAI, sessions, agent runs, internal turns).</summary>
public static class RequestBodyReader
{
    /// <summary>Reads at most <paramref name="limit"/> bytes and parses them (<see cref="OpenAiRequestReader.ParseBody"/>).</summary>
    /// <exception cref="OpenAiException">413 when the body is larger than the limit (checked from Content-Length before reading, and while reading); 400 for malformed JSON.</exception>
    public static async Task<JsonDocument> ReadJsonAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            throw TooLarge(request.ContentLength.Value, limit);
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw TooLarge(buffer.Length + read, limit);
            }
            buffer.Write(chunk, 0, read);
        }
        return OpenAiRequestReader.ParseBody(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    private static OpenAiException TooLarge(long size, long limit) =>
        new(413, $"The request body has at least {size:N0} bytes; this server accepts at most {limit:N0}.", "invalid_request_error", null, "request_too_large");
}
