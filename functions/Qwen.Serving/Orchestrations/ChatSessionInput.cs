namespace Qwen.Serving.Orchestrations;

/// <summary>Input of <see cref="ChatSessionOrchestration"/>; also the state carried across <c>ContinueAsNew</c>.</summary>
public sealed record ChatSessionInput
{
    /// <summary>System prompt; null means Qwen's default.</summary>
    public string? System { get; init; }

    /// <summary>A first user message to answer right away (optional).</summary>
    public string? FirstMessage { get; init; }

    /// <summary>Conversation so far (user/assistant pairs, oldest first), bounded by <see cref="MaxHistoryMessages"/>.</summary>
    public IReadOnlyList<ChatTurnMessage> History { get; init; } = [];

    /// <summary>Turns answered over the whole session (across ContinueAsNew).</summary>
    public int Turns { get; init; }

    /// <summary>The last answer (kept in custom status across ContinueAsNew).</summary>
    public string? LastAnswer { get; init; }

    /// <summary>How long to wait for the next user message before ending the session.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Most messages sent to the model (older pairs drop off); ChatML's own window truncation applies after this.</summary>
    public int MaxHistoryMessages { get; init; } = 40;

    /// <summary>Turns per orchestration execution before <c>ContinueAsNew</c> resets the event history.</summary>
    public int TurnsPerExecution { get; init; } = 8;

    /// <summary>Most new tokens per answer; null means the package default.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Sampling temperature; null means the package default.</summary>
    public double? Temperature { get; init; }

    /// <summary>Who started the session (<see cref="Http.CallerIdentity.Owner"/>, a hash); only that caller may read, continue or delete it.</summary>
    public string? Owner { get; init; }
}
