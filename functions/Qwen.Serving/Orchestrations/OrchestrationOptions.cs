namespace Qwen.Serving.Orchestrations;

/// <summary>Settings of the chat-session and ReAct orchestrations and of the worker link.</summary>
public sealed class OrchestrationOptions
{
    /// <summary>GPU worker base URI (app setting <c>Qwen__Worker__BaseUri</c>); when set, turns run remotely.</summary>
    public Uri? WorkerBaseUri { get; set; }

    /// <summary>Service credential (app setting <c>Qwen__Worker__ApiKey</c>) sent to the worker, which checks it as its own API key.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Tool names the agent may call; null allows every registered <see cref="Tools.ITool"/>.</summary>
    public IReadOnlyCollection<string>? AllowedTools { get; set; }

    /// <summary>Timeout of one remote turn.</summary>
    public TimeSpan WorkerTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long finished sessions and agent runs are kept before the retention timer purges them (app setting <c>Qwen__Orchestrations__RetentionDays</c>).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);
}
