namespace Qwen.Serving.Tools;

/// <summary>What the ReAct prompt says about a tool (serializable; crosses the activity boundary).</summary>
public sealed record ToolDescriptor(string Name, string HumanName, string Description, string ParametersJson)
{
    /// <summary>Describes <paramref name="tool"/>.</summary>
    public static ToolDescriptor From(ITool tool) => new(tool.Name, tool.HumanName, tool.Description, tool.ParametersJson);
}
