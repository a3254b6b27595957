namespace Qwen.Serving.Orchestrations;

/// <summary>Input of <see cref="ReActAgentOrchestration"/>.</summary>
public sealed record AgentRunInput
{
    /// <summary>The question to answer.</summary>
    public required string Question { get; init; }

    /// <summary>Tools offered to the model by name; empty offers every allow-listed tool. Names outside the allow-list are dropped.</summary>
    public IReadOnlyList<string> Tools { get; init; } = [];

    /// <summary>Most Thought/Action/Observation rounds before giving up.</summary>
    public int MaxIterations { get; init; } = 5;

    /// <summary>Most new tokens per round.</summary>
    public int? MaxTokens { get; init; } = 512;

    /// <summary>Sampling temperature; 0 (greedy) keeps tool use reproducible.</summary>
    public double? Temperature { get; init; } = 0;

    /// <summary>Who started the run (<see cref="Http.CallerIdentity.Owner"/>, a hash); only that caller may read or cancel it.</summary>
    public string? Owner { get; init; }

    /// <summary>Most characters of ReAct transcript (thoughts, actions, observations) kept in the prompt; older observations are elided first.</summary>
    public int MaxTranscriptChars { get; init; } = 12_000;
}
