using System.Text.Json.Nodes;

namespace Qwen.Infra.Tests.Arm;

/// <summary>
/// One template (root or nested deployment) with the values its parameters receive: a nested deployment's
/// parameters are the expressions its parent passes, evaluated in the parent's scope.
/// </summary>
public sealed class ArmScope
{
    private readonly IReadOnlyDictionary<string, Func<object?>> _bindings;

    /// <summary>Creates a scope for <paramref name="template"/>; unbound parameters fall back to their defaults.</summary>
    public ArmScope(string deploymentName, JsonObject template, IReadOnlyDictionary<string, Func<object?>> bindings)
    {
        DeploymentName = deploymentName;
        Template = template;
        _bindings = bindings;
    }

    /// <summary>The deployment (module) name; "main" for the root.</summary>
    public string DeploymentName { get; }

    /// <summary>The template JSON.</summary>
    public JsonObject Template { get; }

    /// <summary>The value a parameter has in this scope.</summary>
    public object? Parameter(string name)
    {
        if (_bindings.TryGetValue(name, out var bound))
        {
            return bound();
        }
        var declared = Template["parameters"]?[name]
            ?? throw new KeyNotFoundException($"Template of deployment '{DeploymentName}' declares no parameter '{name}'.");
        var defaultValue = declared["defaultValue"];
        return defaultValue is null ? new Unresolved($"parameters('{name}')") : Evaluate(defaultValue);
    }

    /// <summary>The value a variable has in this scope.</summary>
    public object? Variable(string name)
    {
        var node = Template["variables"]?[name]
            ?? throw new KeyNotFoundException($"Template of deployment '{DeploymentName}' declares no variable '{name}'.");
        return Evaluate(node);
    }

    /// <summary>Evaluates a JSON node: strings in [brackets] are expressions, objects and arrays are evaluated member by member.</summary>
    public object? Evaluate(JsonNode? node) => node switch
    {
        // Cast: JsonNode converts implicitly from string/bool/long, which would make JsonNode the switch's type.
        null => (object?)null,
        JsonObject obj => EvaluateObject(obj),
        JsonArray array => new JsonArray(array.Select(item => ToNode(Evaluate(item))).ToArray()),
        JsonValue value when value.TryGetValue<string>(out var text) => EvaluateString(text),
        JsonValue value when value.TryGetValue<bool>(out var flag) => flag,
        JsonValue value when value.TryGetValue<long>(out var number) => number,
        JsonValue value => value.ToJsonString(),
        _ => throw new InvalidOperationException($"Unexpected JSON node {node.GetType().Name}."),
    };

    /// <summary>Evaluates a template string: an expression when wrapped in single brackets, else a literal.</summary>
    public object? EvaluateString(string text)
    {
        if (text.StartsWith("[[", StringComparison.Ordinal))
        {
            return text[1..];
        }
        if (text.Length >= 2 && text[0] == '[' && text[^1] == ']')
        {
            return ArmExpression.Evaluate(text[1..^1], this);
        }
        return text;
    }

    private JsonObject EvaluateObject(JsonObject obj)
    {
        var result = new JsonObject();
        foreach (var (key, value) in obj)
        {
            result[key] = ToNode(Evaluate(value));
        }
        return result;
    }

    /// <summary>Turns an evaluated value back into JSON (unresolved values become their expression text).</summary>
    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        long l => JsonValue.Create(l),
        Unresolved u => JsonValue.Create(u.Text),
        _ => JsonValue.Create(value.ToString()),
    };
}
