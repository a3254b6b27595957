namespace Qwen.Serving.Orchestrations;

/// <summary>One model turn: a ChatML conversation and its sampling settings. Serializable (activity input and worker wire format).</summary>
public sealed record ChatTurnRequest
{
    /// <summary>System prompt; null means Qwen's default "You are a helpful assistant.".</summary>
    public string? System { get; init; }

    /// <summary>Conversation, oldest first, alternating user/assistant.</summary>
    public required IReadOnlyList<ChatTurnMessage> Messages { get; init; }

    /// <summary>When true the last message is an unfinished assistant turn the model continues (ReAct after an Observation).</summary>
    public bool ContinueLastAssistant { get; init; }

    /// <summary>Stop strings (the stop text is not returned).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Most new tokens; null means the package default.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Sampling temperature; null means the package default; 0 is greedy.</summary>
    public double? Temperature { get; init; }

    /// <summary>Nucleus mass; null means the package default.</summary>
    public double? TopP { get; init; }

    /// <summary>Seed for reproducible sampling.</summary>
    public long? Seed { get; init; }
}
