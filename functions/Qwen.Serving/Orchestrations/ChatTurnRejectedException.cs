namespace Qwen.Serving.Orchestrations;

/// <summary>The model refused a chat turn for a reason retrying cannot fix (the worker answered 4xx other than 408/429).</summary>
public sealed class ChatTurnRejectedException(int statusCode, string message) : Exception(message)
{
    /// <summary>The HTTP status the worker answered.</summary>
    public int StatusCode { get; } = statusCode;
}
