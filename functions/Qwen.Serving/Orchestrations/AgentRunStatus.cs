namespace Qwen.Serving.Orchestrations;

/// <summary>Custom status of a running agent: the round and the latest step.</summary>
public sealed record AgentRunStatus(int Iteration, AgentStep? LastStep);
