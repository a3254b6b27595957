namespace Qwen.Serving.Forwarding;

/// <summary>Where the front sends the API's requests (configuration section <c>Qwen:Worker</c>; the server's <c>--worker</c> and <c>--worker-key</c>).</summary>
public sealed class WorkerForwardingOptions
{
    /// <summary>Configuration section the options bind from (<c>Qwen__Worker__*</c> app settings).</summary>
    public const string SectionName = "Qwen:Worker";

    /// <summary>The GPU worker's base URI (app setting <c>Qwen__Worker__BaseUri</c>). Unset: this host serves the model itself.</summary>
    public Uri? BaseUri { get; set; }

    /// <summary>The service credential the front presents to the worker as <c>api-key</c> (app setting <c>Qwen__Worker__ApiKey</c>);
    /// never the client's key, which the front checks and strips.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Seconds suggested in Retry-After when the worker cannot be reached or is still starting.</summary>
    public int RetryAfterSeconds { get; set; } = 10;

    /// <summary>Longest silence allowed on one forwarded exchange (a long prefill sends nothing until its first token).</summary>
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Time allowed to open a connection to the worker before answering 503.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
