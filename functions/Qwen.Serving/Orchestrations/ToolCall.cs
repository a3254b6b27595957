namespace Qwen.Serving.Orchestrations;

/// <summary>A tool invocation the model asked for: the name after <c>Action:</c> and the raw <c>Action Input</c>.</summary>
public sealed record ToolCall(string Name, string Arguments);
