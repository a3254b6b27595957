namespace Qwen.Serving.Orchestrations;

/// <summary>Output of an agent run.</summary>
/// <param name="Status"><c>answered</c> (Final Answer), <c>no_action</c> (plain answer without the ReAct format), <c>max_iterations</c>, or <c>failed</c> (see <see cref="Error"/>).</param>
/// <param name="Answer">The final answer, or null when the run gave up.</param>
/// <param name="Iterations">Model rounds used.</param>
/// <param name="Steps">Tool rounds in order.</param>
/// <param name="Transcript">The assistant text the model continued (Thought/Action/Observation…).</param>
public sealed record AgentRunResult(string Status, string? Answer, int Iterations, IReadOnlyList<AgentStep> Steps, string Transcript)
{
    /// <summary>Why a <c>failed</c> run stopped; null otherwise.</summary>
    public string? Error { get; init; }
}
