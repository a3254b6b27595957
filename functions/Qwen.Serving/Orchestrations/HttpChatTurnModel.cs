using System.Net.Http.Json;
using System.Text.Json;

namespace Qwen.Serving.Orchestrations;

/// <summary>Runs chat turns on the GPU worker (<c>POST {Qwen__Worker__BaseUri}/internal/chat-turns</c>), for the API app that holds no model.</summary>
/// <remarks>The <see cref="HttpClient"/> comes from DI (one shared, pooled client) with its base address and <c>api-key</c> header (the service credential, <c>Qwen__Worker__ApiKey</c>) set. Thread-safe.</remarks>
public sealed class HttpChatTurnModel(HttpClient httpClient) : IChatTurnModel
{
    /// <summary>Route of the worker endpoint, relative to the worker base URI.</summary>
    public const string Route = "internal/chat-turns";

    /// <summary>Header carrying the service credential (the Azure OpenAI convention).</summary>
    public const string ApiKeyHeader = "api-key";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <inheritdoc />
    /// <exception cref="ChatTurnRejectedException">The worker refused the turn with a 4xx other than 408/429 (not worth retrying).</exception>
    /// <exception cref="HttpRequestException">The worker failed or was unreachable (5xx, 408, 429); the message carries the status and the worker's error text.</exception>
    public async Task<ChatTurnResult> GenerateAsync(ChatTurnRequest request, CancellationToken cancellationToken = default)
    {
        using var response = await httpClient.PostAsJsonAsync(Route, request, Json, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is >= 400 and < 500 and not 408 and not 429)
            {
                // The same request gets the same answer: not worth a retry (TurnRetry).
                throw new ChatTurnRejectedException(status,
                    $"The GPU worker at {httpClient.BaseAddress}{Route} refused the turn ({status} {response.ReasonPhrase}): {Truncate(body, 500)}");
            }
            throw new HttpRequestException(
                $"The GPU worker at {httpClient.BaseAddress}{Route} answered {(int)response.StatusCode} {response.ReasonPhrase}: {Truncate(body, 500)}",
                inner: null, response.StatusCode);
        }
        return await response.Content.ReadFromJsonAsync<ChatTurnResult>(Json, cancellationToken).ConfigureAwait(false)
            ?? throw new HttpRequestException($"The GPU worker at {httpClient.BaseAddress}{Route} returned an empty body.");
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}
