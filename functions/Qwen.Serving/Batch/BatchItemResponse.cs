using System.Text.Json.Nodes;

namespace Qwen.Serving.Batch;

/// <summary>The HTTP-shaped answer to one batch line: a status code and a JSON body (OpenAI's <c>response</c> object).</summary>
public sealed record BatchItemResponse(int StatusCode, JsonNode Body)
{
    /// <summary>True for 2xx.</summary>
    public bool IsSuccess => StatusCode is >= 200 and < 300;

    /// <summary>An OpenAI-style error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
    public static BatchItemResponse Error(int statusCode, string code, string message, string? param = null) => new(statusCode, new JsonObject
    {
        ["error"] = new JsonObject
        {
            ["message"] = message,
            ["type"] = statusCode >= 500 ? "server_error" : "invalid_request_error",
            ["param"] = param,
            ["code"] = code,
        },
    });
}
