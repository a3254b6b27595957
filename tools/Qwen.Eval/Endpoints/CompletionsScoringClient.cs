using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Qwen.Eval.Endpoints;

/// <summary>
/// Prompt log-probabilities from an OpenAI-compatible legacy completions endpoint: <c>echo: true</c>, <c>logprobs</c>,
/// <c>max_tokens: 0</c>, the prompt as token ids (vLLM and this project's servers; the shape lm-evaluation-harness reads).
/// </summary>
/// <remarks>
/// The official OpenAI .NET client has no legacy completions API, so this one posts JSON with <see cref="HttpClient"/>.
/// Without a model id it sends the first one GET /models lists. Thread-safe for concurrent calls after the first.
/// </remarks>
public sealed class CompletionsScoringClient(HttpClient http, Uri baseUri, string? apiKey = null, string? model = null)
{
    private string? _model = model;

    /// <summary>The endpoint's base URL (ending in /v1/).</summary>
    public Uri BaseUri { get; } = baseUri;

    /// <summary>
    /// Log-probability of every prompt token after the first (token_logprobs[1..]) for <paramref name="tokens"/>.
    /// </summary>
    /// <exception cref="HttpRequestException">The endpoint answered an error; the message carries its body.</exception>
    public async Task<double[]> ScoreAsync(IReadOnlyList<int> tokens, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject
        {
            ["prompt"] = new JsonArray([.. tokens.Select(t => (JsonNode)t)]),
            ["max_tokens"] = 0,
            ["echo"] = true,
            ["logprobs"] = 0,
            ["temperature"] = 0,
        };
        body["model"] = _model ??= await FirstModelAsync(cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseUri, "completions"))
        {
            Content = JsonContent.Create(body),
        };
        using var document = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        var logprobs = document.RootElement.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("token_logprobs");
        if (logprobs.GetArrayLength() != tokens.Count)
        {
            throw new InvalidDataException($"{request.RequestUri} returned {logprobs.GetArrayLength()} token log-probabilities for a {tokens.Count}-token prompt; does it support echo with max_tokens 0?");
        }
        var result = new double[tokens.Count - 1];
        var i = 0;
        foreach (var item in logprobs.EnumerateArray())
        {
            if (i > 0)
            {
                result[i - 1] = item.GetDouble();
            }
            i++;
        }
        return result;
    }

    /// <summary>The first model id of GET /models (OpenAI-compatible servers list what they serve).</summary>
    private async Task<string> FirstModelAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUri, "models"));
        using var document = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        var data = document.RootElement.GetProperty("data");
        return data.GetArrayLength() > 0
            ? data[0].GetProperty("id").GetString()!
            : throw new InvalidDataException($"{request.RequestUri} lists no model; pass --model.");
    }

    private async Task<JsonDocument> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(apiKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{request.RequestUri} answered {(int)response.StatusCode}: {text}", null, response.StatusCode);
        }
        return JsonDocument.Parse(text);
    }
}
