namespace Qwen.Serving.Tools;

/// <summary>A tool the ReAct agent may call. Register implementations in DI; only allow-listed names ever run.</summary>
/// <remarks>Implementations are thread-safe and must treat <c>arguments</c> as untrusted model output.</remarks>
public interface ITool
{
    /// <summary>Name the model writes after <c>Action:</c> (<c>name_for_model</c>).</summary>
    string Name { get; }

    /// <summary>Human-readable API name (<c>name_for_human</c>).</summary>
    string HumanName { get; }

    /// <summary>What the tool is useful for (<c>description_for_model</c>).</summary>
    string Description { get; }

    /// <summary>JSON list of parameters, each with <c>name</c>, <c>description</c>, <c>required</c> and <c>schema</c> (spec §6.1).</summary>
    string ParametersJson { get; }

    /// <summary>Runs the tool with the model's <c>Action Input</c> text and returns the observation.</summary>
    /// <exception cref="ArgumentException">The arguments are invalid; the message tells the model what was wrong.</exception>
    Task<string> InvokeAsync(string arguments, CancellationToken cancellationToken = default);
}
