namespace Qwen.Serving.Http;

/// <summary>A request failure that becomes OpenAI's error JSON: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed class OpenAiException(int statusCode, string message, string type, string? param = null, string? code = null)
    : Exception(message)
{
    public int StatusCode { get; } = statusCode;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    /// <summary>Sent as the Retry-After header (whole seconds) when set.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>400 naming the field at fault.</summary>
    public static OpenAiException Invalid(string param, string message, string? code = null) =>
        new(400, message, "invalid_request_error", param, code);

    /// <summary>400 for a body that is not JSON (or not UTF-8).</summary>
    public static OpenAiException InvalidJson(string detail) =>
        new(400, $"We could not parse the JSON body of your request: {detail}. Send a UTF-8 JSON object.", "invalid_request_error", null, "invalid_json");
}
