namespace Qwen.Serving.Http;

/// <summary>A function call: id, function name and its JSON arguments as text.</summary>
public sealed record ToolCallInput(string Id, string Name, string Arguments);
