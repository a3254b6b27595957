namespace Qwen.Serving.Orchestrations;

/// <summary>One Action/Observation round of an agent run.</summary>
/// <param name="Tool">Tool name the model wrote.</param>
/// <param name="Input">Its Action Input text.</param>
/// <param name="Observation">What was appended after <c>Observation:</c> (the tool result or an error).</param>
/// <param name="Executed">Whether the tool ran (false when refused or failed).</param>
public sealed record AgentStep(string Tool, string Input, string Observation, bool Executed);
