using System.Text.Json.Nodes;

namespace Qwen.Infra.Tests.Arm;

/// <summary>A compiled template (root or module) with its evaluation scope and its nested module deployments.</summary>
public sealed class ArmDeployment
{
    private ArmDeployment(ArmScope scope, ArmDeployment? parent)
    {
        Scope = scope;
        Parent = parent;
        Children = Resources
            .Where(r => (string?)r["type"] == "Microsoft.Resources/deployments" && r["properties"]?["template"] is JsonObject)
            .Select(r => new ArmDeployment(ChildScope(r, scope), this))
            .ToArray();
    }

    /// <summary>Deployment name ("main" for the root, else the module's deployment name).</summary>
    public string Name => Scope.DeploymentName;

    /// <summary>Evaluation scope of this template.</summary>
    public ArmScope Scope { get; }

    /// <summary>The deployment that contains this one; null for the root.</summary>
    public ArmDeployment? Parent { get; }

    /// <summary>Module deployments declared by this template.</summary>
    public IReadOnlyList<ArmDeployment> Children { get; }

    /// <summary>The template's resources (both the array form and Bicep's symbolic-name object form).</summary>
    public IEnumerable<JsonObject> Resources => Scope.Template["resources"] switch
    {
        JsonArray array => array.OfType<JsonObject>(),
        JsonObject symbolic => symbolic.Select(p => p.Value).OfType<JsonObject>(),
        _ => [],
    };

    /// <summary>The root template deployed with the given parameter values (others take their defaults).</summary>
    public static ArmDeployment Root(JsonObject template, IReadOnlyDictionary<string, object?> parameterValues)
    {
        var bindings = parameterValues.ToDictionary(p => p.Key, p => (Func<object?>)(() => p.Value));
        return new ArmDeployment(new ArmScope("main", template, bindings), null);
    }

    /// <summary>This deployment and every nested one, depth first.</summary>
    public IEnumerable<ArmDeployment> SelfAndDescendants()
    {
        yield return this;
        foreach (var child in Children)
        {
            foreach (var d in child.SelfAndDescendants())
            {
                yield return d;
            }
        }
    }

    /// <summary>The nested deployment called <paramref name="name"/>; fails when absent.</summary>
    public ArmDeployment Module(string name) =>
        SelfAndDescendants().SingleOrDefault(d => d.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"The template has no module deployment named '{name}'.");

    /// <summary>Resources of <paramref name="type"/> in this template (not nested ones).</summary>
    public IEnumerable<JsonObject> ResourcesOfType(string type) =>
        Resources.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));

    private static ArmScope ChildScope(JsonObject deployment, ArmScope parentScope)
    {
        var name = parentScope.EvaluateString((string)deployment["name"]!) as string
            ?? throw new InvalidOperationException("A module deployment name must be known before deployment.");
        var template = (JsonObject)deployment["properties"]!["template"]!;
        var bindings = new Dictionary<string, Func<object?>>();
        if (deployment["properties"]!["parameters"] is JsonObject parameters)
        {
            foreach (var (paramName, binding) in parameters)
            {
                var valueNode = binding?["value"];
                bindings[paramName] = () => parentScope.Evaluate(valueNode);
            }
        }
        return new ArmScope(name, template, bindings);
    }
}
