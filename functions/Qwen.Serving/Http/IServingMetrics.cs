namespace Qwen.Serving.Http;

/// <summary>What the API counts for /metrics. Thread-safe.</summary>
/// <remarks>Limitation: queue depth here is requests in flight at the API; the scheduler's own EngineMetrics replaces it when wired in.</remarks>
public interface IServingMetrics
{
    /// <summary>A request finished with this status on this route.</summary>
    void RequestCompleted(string route, int statusCode);

    /// <summary>A generation started (+1) or ended (−1).</summary>
    void InFlight(int delta);

    /// <summary>One generation's numbers.</summary>
    void GenerationCompleted(int promptTokens, int completionTokens, TimeSpan timeToFirstToken, TimeSpan decodeTime);

    /// <summary>Prometheus text exposition format (version 0.0.4).</summary>
    string ToPrometheusText();
}
