namespace Qwen.Serving.Http;

/// <summary>Parsed <c>tool_choice</c> / <c>function_call</c>: none, auto, required, or one named function.</summary>
public sealed record ToolChoice(string Mode, string? FunctionName = null)
{
    public static ToolChoice Auto { get; } = new("auto");
    public static ToolChoice None { get; } = new("none");
}
