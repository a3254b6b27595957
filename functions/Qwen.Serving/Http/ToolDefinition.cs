namespace Qwen.Serving.Http;

/// <summary>A function the model may call: name, description and the JSON schema of its parameters (raw JSON text).</summary>
public sealed record ToolDefinition(string Name, string? Description, string? ParametersJson);
