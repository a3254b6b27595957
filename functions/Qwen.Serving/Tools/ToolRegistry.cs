using Qwen.Serving.Orchestrations;

namespace Qwen.Serving.Tools;

/// <summary>The registered tools that the allow-list admits; the single place that decides whether a tool may run.</summary>
public sealed class ToolRegistry
{
    private readonly Dictionary<string, ITool> _allowed;

    /// <summary>Admits each registered tool whose name is in <see cref="OrchestrationOptions.AllowedTools"/> (all of them when that is null).</summary>
    public ToolRegistry(IEnumerable<ITool> tools, OrchestrationOptions options)
    {
        _allowed = new Dictionary<string, ITool>(StringComparer.Ordinal);
        foreach (var tool in tools)
        {
            if (options.AllowedTools is null || options.AllowedTools.Contains(tool.Name, StringComparer.Ordinal))
            {
                if (!_allowed.TryAdd(tool.Name, tool))
                {
                    throw new InvalidOperationException($"Two tools are registered with the name '{tool.Name}'; tool names must be unique.");
                }
            }
        }
    }

    /// <summary>Allowed tools, ordered by name.</summary>
    public IReadOnlyList<ITool> Allowed => _allowed.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();

    /// <summary>Finds an allowed tool by exact name.</summary>
    public bool TryGet(string name, out ITool tool) => _allowed.TryGetValue(name, out tool!);
}
