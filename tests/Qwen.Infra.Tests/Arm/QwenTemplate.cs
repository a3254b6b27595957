using System.Text.Json.Nodes;

namespace Qwen.Infra.Tests.Arm;

/// <summary>Finds this repository's apps, storage and role assignments in an evaluated main.bicep.</summary>
public sealed class QwenTemplate(ArmDeployment root)
{
    /// <summary>The root deployment (main.bicep).</summary>
    public ArmDeployment Root { get; } = root;

    /// <summary>The GPU worker module.</summary>
    public ArmDeployment WorkerModule => Root.Module("worker");

    /// <summary>The API / orchestration module.</summary>
    public ArmDeployment ApiModule => Root.Module("api");

    /// <summary>The resource-name seed main.bicep derives from subscription, environment and region.</summary>
    public string ResourceToken => (string)Root.Scope.Variable("resourceToken")!;

    /// <summary>The worker container app resource (raw JSON).</summary>
    public JsonObject WorkerApp => Single(WorkerModule, "Microsoft.App/containerApps");

    /// <summary>The API function app resource (raw JSON).</summary>
    public JsonObject ApiApp => Single(ApiModule, "Microsoft.Web/sites");

    /// <summary>The worker's environment variables: evaluated values, or <see cref="SecretReference"/>.</summary>
    public IReadOnlyDictionary<string, object?> WorkerSettings
    {
        get
        {
            var containers = (JsonArray)WorkerApp["properties"]!["template"]!["containers"]!;
            if (containers.Count != 1)
            {
                throw new Xunit.Sdk.XunitException($"The worker app should run one container; it has {containers.Count}.");
            }
            return Settings(WorkerModule.Scope, (JsonArray)containers[0]!["env"]!);
        }
    }

    /// <summary>The API app's app settings, evaluated.</summary>
    public IReadOnlyDictionary<string, object?> ApiSettings =>
        Settings(ApiModule.Scope, (JsonArray)ApiApp["properties"]!["siteConfig"]!["appSettings"]!);

    /// <summary>Every storage account with the deployment that declares it.</summary>
    public IEnumerable<(ArmDeployment Deployment, JsonObject Account)> StorageAccounts =>
        Root.SelfAndDescendants().SelectMany(d => d.ResourcesOfType("Microsoft.Storage/storageAccounts").Select(r => (d, r)));

    /// <summary>Every role assignment, resolved to principal label, role GUID and scope path.</summary>
    public IReadOnlyList<RoleGrant> RoleGrants =>
        Root.SelfAndDescendants()
            .SelectMany(d => d.ResourcesOfType("Microsoft.Authorization/roleAssignments").Select(r => Grant(d, r)))
            .OfType<RoleGrant>()
            .ToArray();

    private static RoleGrant? Grant(ArmDeployment deployment, JsonObject assignment)
    {
        var scope = deployment.Scope;
        if (assignment["condition"] is JsonNode condition && scope.Evaluate(condition) is false)
        {
            return null; // not deployed with these parameters
        }
        var roleDefinition = Text(scope.Evaluate(assignment["properties"]!["roleDefinitionId"]));
        var principal = Text(scope.Evaluate(assignment["properties"]!["principalId"]));
        var target = assignment["scope"] is JsonNode s ? Text(scope.Evaluate(s)) : "(deployment scope)";
        return new RoleGrant(PrincipalLabel(principal), roleDefinition[(roleDefinition.LastIndexOf('/') + 1)..], target);
    }

    private static string PrincipalLabel(string principal) =>
        principal.Contains("'identity-worker'", StringComparison.Ordinal) ? "worker"
        : principal.Contains("'identity-api'", StringComparison.Ordinal) ? "api"
        : principal == Bicep.InfraFixture.DeployerPrincipalId ? "deployer"
        : principal;

    private static IReadOnlyDictionary<string, object?> Settings(ArmScope scope, JsonArray entries)
    {
        var settings = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var entry in entries.OfType<JsonObject>())
        {
            var name = Text(scope.Evaluate(entry["name"]));
            if (!settings.TryAdd(name, Value(scope, entry)))
            {
                throw new Xunit.Sdk.XunitException($"App setting '{name}' is set twice in deployment '{scope.DeploymentName}'.");
            }
        }
        return settings;
    }

    private static object? Value(ArmScope scope, JsonObject entry) =>
        entry["secretRef"] is JsonNode secretRef
            ? new SecretReference(Text(scope.Evaluate(secretRef)))
            : scope.Evaluate(entry["value"]);

    private static JsonObject Single(ArmDeployment deployment, string type)
    {
        var matches = deployment.ResourcesOfType(type).ToArray();
        return matches.Length == 1
            ? matches[0]
            : throw new Xunit.Sdk.XunitException($"Deployment '{deployment.Name}' should declare one {type}; it declares {matches.Length}.");
    }

    /// <summary>An evaluated value as text (unresolved values give their expression).</summary>
    public static string Text(object? value) => value switch
    {
        null => "",
        string s => s,
        Unresolved u => u.Text,
        JsonNode n => n.ToJsonString(),
        _ => value.ToString() ?? "",
    };
}
