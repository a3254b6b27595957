namespace Qwen.Serving.Http;

/// <summary>How <see cref="EngineWarmupService"/> treats a failed start-up load.</summary>
public sealed class EngineWarmupOptions
{
    /// <summary>Stop the host (exit code 1) when the load fails: right for the standalone server, whose model is a local directory.
    /// The Functions worker keeps running instead, and the next request retries the download.</summary>
    public bool StopHostOnFailure { get; init; }
}
