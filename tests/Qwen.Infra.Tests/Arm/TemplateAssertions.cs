using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Sdk;

namespace Qwen.Infra.Tests.Arm;

/// <summary>
/// The security and wiring promises of infra/main.bicep, as assertions over its compiled ARM JSON. Kept apart
/// from the tests so the breakage tests can run them against deliberately damaged templates.
/// </summary>
public static partial class TemplateAssertions
{
    /// <summary>Every storage account: no public blob access, HTTPS only, TLS 1.2, no shared keys, private containers.</summary>
    public static void StorageIsLockedDown(QwenTemplate template)
    {
        var accounts = template.StorageAccounts.ToArray();
        var moduleCalls = template.Root.SelfAndDescendants().Count(d => d.ResourcesOfType("Microsoft.Storage/storageAccounts").Any());
        Assert.True(moduleCalls >= 2, $"Expected a data and a host storage account; found {moduleCalls} deployments declaring one.");
        foreach (var (deployment, account) in accounts)
        {
            var where = $"storage account in deployment '{deployment.Name}'";
            var properties = account["properties"] as JsonObject ?? throw new XunitException($"{where} has no properties.");
            Assert.True(IsFalse(properties["allowBlobPublicAccess"]), $"{where}: allowBlobPublicAccess must be false.");
            Assert.True(IsTrue(properties["supportsHttpsTrafficOnly"]), $"{where}: supportsHttpsTrafficOnly must be true.");
            Assert.True((string?)properties["minimumTlsVersion"] == "TLS1_2", $"{where}: minimumTlsVersion must be TLS1_2, is '{properties["minimumTlsVersion"]}'.");
            Assert.True(IsFalse(properties["allowSharedKeyAccess"]), $"{where}: allowSharedKeyAccess must be false (identity only).");
        }
        foreach (var deployment in template.Root.SelfAndDescendants())
        {
            foreach (var container in deployment.ResourcesOfType("Microsoft.Storage/storageAccounts/blobServices/containers"))
            {
                var access = (string?)container["properties"]?["publicAccess"];
                Assert.True(access == "None", $"Blob container in deployment '{deployment.Name}' has publicAccess '{access}'; it must be None.");
            }
        }
    }

    /// <summary>Key Vault, registry, telemetry and publishing accept Entra ID only; ingress is HTTPS only.</summary>
    public static void ServicesAcceptEntraOnly(QwenTemplate template)
    {
        var vault = Properties(template.Root.Module("keyvault"), "Microsoft.KeyVault/vaults");
        Assert.True(IsTrue(vault["enableRbacAuthorization"]), "Key Vault: enableRbacAuthorization must be true (no access policies).");
        Assert.True(vault["accessPolicies"] is null || vault["accessPolicies"] is JsonArray { Count: 0 }, "Key Vault: access policies must not be used.");
        var registry = Properties(template.Root.Module("registry"), "Microsoft.ContainerRegistry/registries");
        Assert.True(IsFalse(registry["adminUserEnabled"]), "Registry: adminUserEnabled must be false.");
        Assert.True(IsFalse(registry["anonymousPullEnabled"]), "Registry: anonymousPullEnabled must be false.");
        var insights = Properties(template.Root.Module("monitoring"), "Microsoft.Insights/components");
        Assert.True(IsTrue(insights["DisableLocalAuth"]), "Application Insights: DisableLocalAuth must be true (Entra-authenticated ingestion).");
        var policies = template.ApiModule.ResourcesOfType("Microsoft.Web/sites/basicPublishingCredentialsPolicies").ToArray();
        Assert.Equal(2, policies.Length);
        Assert.All(policies, p => Assert.True(IsFalse(p["properties"]?["allow"]), "API app: basic publishing credentials must be disabled."));
        Assert.True(IsTrue(template.ApiApp["properties"]!["httpsOnly"]), "API app: httpsOnly must be true.");
        Assert.True(IsFalse(template.WorkerApp["properties"]!["configuration"]!["ingress"]!["allowInsecure"]), "Worker: ingress allowInsecure must be false.");
    }

    /// <summary>No output (root or module) is secure-typed, named like a secret, or computed from keys, connection strings or secure parameters.</summary>
    public static void OutputsExposeNoSecrets(QwenTemplate template)
    {
        foreach (var deployment in template.Root.SelfAndDescendants())
        {
            var secureParameters = (deployment.Scope.Template["parameters"] as JsonObject ?? [])
                .Where(p => ((string?)p.Value?["type"])?.StartsWith("secure", StringComparison.OrdinalIgnoreCase) == true)
                .Select(p => p.Key)
                .ToArray();
            foreach (var (name, output) in deployment.Scope.Template["outputs"] as JsonObject ?? [])
            {
                var where = $"Output '{name}' of deployment '{deployment.Name}'";
                var type = (string?)output?["type"] ?? "";
                Assert.False(type.StartsWith("secure", StringComparison.OrdinalIgnoreCase), $"{where} is of type {type}.");
                Assert.False(SecretLikeName().IsMatch(name), $"{where} is named like a secret.");
                var value = RawText(output?["value"]);
                var leak = SecretLikeValue().Match(value);
                Assert.False(leak.Success, $"{where} is computed from '{leak.Value}': {value}");
                foreach (var secure in secureParameters)
                {
                    Assert.DoesNotContain($"parameters('{secure}')", value, StringComparison.OrdinalIgnoreCase);
                }
            }
        }
    }

    /// <summary>Nothing in the template reads account keys or builds key-based connection strings.</summary>
    public static void NoKeysAnywhere(QwenTemplate template)
    {
        var json = RawText(template.Root.Scope.Template);
        foreach (var forbidden in new[] { "listKeys", "listAccountSas", "listServiceSas", "listCredentials", "AccountKey=", "SharedAccessSignature=" })
        {
            Assert.False(json.Contains(forbidden, StringComparison.OrdinalIgnoreCase), $"The template contains '{forbidden}'.");
        }
    }

    /// <summary>The role assignments are exactly <paramref name="expected"/>: right roles, right narrow scopes, nothing extra.</summary>
    public static void RoleAssignmentsAre(QwenTemplate template, IReadOnlyCollection<RoleGrant> expected)
    {
        var actual = template.RoleGrants;
        var missing = expected.Except(actual).ToArray();
        var extra = actual.Except(expected).ToArray();
        var duplicates = actual.GroupBy(g => g).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        if (missing.Length + extra.Length + duplicates.Length > 0)
        {
            throw new XunitException(
                "Role assignments differ from the least-privilege plan.\n"
                + string.Concat(missing.Select(m => $"  missing: {m}\n"))
                + string.Concat(extra.Select(e => $"  unexpected: {e}\n"))
                + string.Concat(duplicates.Select(d => $"  duplicated: {d}\n")));
        }
    }

    /// <summary>Each setting in <paramref name="names"/> is set on exactly the app(s) the placement table names.</summary>
    public static void AppSettingsArePlaced(QwenTemplate template, IEnumerable<string> names)
    {
        var worker = template.WorkerSettings;
        var api = template.ApiSettings;
        var problems = new List<string>();
        foreach (var name in names)
        {
            if (!AppSettingPlacement.Expected.TryGetValue(name, out var host))
            {
                problems.Add($"{name}: not in AppSettingPlacement.Expected; decide which app needs it and set it in infra/app/worker.bicep and/or api.bicep.");
                continue;
            }
            Check(name, AppHost.Worker, host, worker.ContainsKey(name));
            Check(name, AppHost.Api, host, api.ContainsKey(name));
        }
        if (problems.Count > 0)
        {
            throw new XunitException("App settings are not where they belong:\n  " + string.Join("\n  ", problems));
        }

        void Check(string name, AppHost app, AppHost expected, bool present)
        {
            var wanted = expected.HasFlag(app);
            if (wanted && !present)
            {
                problems.Add($"{name}: missing on the {app} app.");
            }
            else if (!wanted && present)
            {
                problems.Add($"{name}: set on the {app} app, which should not have it.");
            }
        }
    }

    /// <summary>Both apps reach storage with their own managed identity, and the worker gets the model from the data account.</summary>
    public static void StorageSettingsUseIdentity(QwenTemplate template)
    {
        var token = template.ResourceToken;
        foreach (var (app, settings, identityModule) in Apps(template))
        {
            Assert.Equal("managedidentity", settings["QwenStorage__credential"]);
            Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
            Assert.Equal($"sthost{token}", settings["AzureWebJobsStorage__accountName"]);
            foreach (var clientIdSetting in new[] { "QwenStorage__clientId", "AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID" })
            {
                var value = QwenTemplate.Text(settings[clientIdSetting]);
                Assert.True(value.Contains($"'{identityModule}'") && value.EndsWith(".outputs.clientId.value", StringComparison.Ordinal),
                    $"{app}: {clientIdSetting} must be the client ID of its own identity ({identityModule}); it is {value}");
            }
            AssertModuleOutput(app, settings, "QwenStorage__blobServiceUri", "storage-data", "blobEndpoint");
            AssertModuleOutput(app, settings, "QwenStorage__queueServiceUri", "storage-data", "queueEndpoint");
            foreach (var forbidden in new[] { "AzureWebJobsStorage", "QwenStorage", "AzureWebJobsDashboard" })
            {
                Assert.False(settings.ContainsKey(forbidden), $"{app}: '{forbidden}' (a connection string setting) must not be set; use the __accountName/__serviceUri form.");
            }
            foreach (var (name, value) in settings)
            {
                var text = QwenTemplate.Text(value);
                Assert.False(text.Contains("AccountKey=", StringComparison.OrdinalIgnoreCase) || text.Contains("SharedAccessSignature", StringComparison.OrdinalIgnoreCase),
                    $"{app}: setting {name} carries a storage key or SAS.");
            }
        }
        var modelUri = QwenTemplate.Text(template.WorkerSettings["Qwen__Model__BlobContainerUri"]);
        Assert.True(modelUri.Contains("'storage-data'") && modelUri.EndsWith(".outputs.blobEndpoint.valuemodels", StringComparison.Ordinal),
            $"Worker Qwen__Model__BlobContainerUri must be <data blob endpoint>models; it is {modelUri}");
        Assert.Equal("cuda", template.WorkerSettings["Qwen__Engine__ExecutionProvider"]);
        var workerUri = QwenTemplate.Text(template.ApiSettings["Qwen__Worker__BaseUri"]);
        Assert.True(workerUri.Contains("'worker'") && workerUri.EndsWith(".outputs.uri.value", StringComparison.Ordinal),
            $"API Qwen__Worker__BaseUri must come from the worker module's uri output; it is {workerUri}");
    }

    /// <summary>The API key reaches both apps from Key Vault through the app's identity, never as a literal.</summary>
    public static void ApiKeyComesFromKeyVault(QwenTemplate template)
    {
        var apiValue = QwenTemplate.Text(template.ApiSettings["Qwen__Serving__ApiKey"]);
        Assert.True(apiValue.StartsWith("@Microsoft.KeyVault(SecretUri=", StringComparison.Ordinal)
                && apiValue.Contains("'keyvault'") && apiValue.EndsWith(".outputs.apiKeyUri.value)", StringComparison.Ordinal),
            $"API app: Qwen__Serving__ApiKey must be a Key Vault reference to the keyvault module's secret URI; it is {apiValue}");
        var referenceIdentity = QwenTemplate.Text(template.ApiModule.Scope.Evaluate(template.ApiApp["properties"]!["keyVaultReferenceIdentity"]));
        Assert.True(referenceIdentity.Contains("'identity-api'") && referenceIdentity.EndsWith(".outputs.id.value", StringComparison.Ordinal),
            $"API app: keyVaultReferenceIdentity must be the API identity; it is '{referenceIdentity}'");

        var workerValue = template.WorkerSettings["Qwen__Serving__ApiKey"];
        var secretName = Assert.IsType<SecretReference>(workerValue).SecretName;
        var secrets = template.WorkerModule.Scope.Evaluate(template.WorkerApp["properties"]!["configuration"]!["secrets"]) as JsonArray
            ?? throw new XunitException("Worker app declares no secrets.");
        foreach (var secret in secrets.OfType<JsonObject>())
        {
            Assert.True(secret["value"] is null, $"Worker secret '{secret["name"]}' has an inline value; use keyVaultUrl.");
        }
        var apiKeySecret = secrets.OfType<JsonObject>().SingleOrDefault(s => (string?)s["name"] == secretName)
            ?? throw new XunitException($"Worker env refers to secret '{secretName}', which is not declared.");
        var url = (string?)apiKeySecret["keyVaultUrl"] ?? "";
        var identity = (string?)apiKeySecret["identity"] ?? "";
        // The worker's key is the service credential (a second secret of the same vault), not the clients' API key.
        Assert.True(url.Contains("'keyvault'") && url.EndsWith(".outputs.workerKeyUri.value", StringComparison.Ordinal),
            $"Worker secret '{secretName}' must point at the keyvault module's secret URI; it is '{url}'");
        Assert.True(identity.Contains("'identity-worker'"), $"Worker secret '{secretName}' must be read with the worker identity; it is '{identity}'");
    }

    /// <summary>The worker is a Functions-kind container app on the environment's serverless GPU profile, sized by parameters.</summary>
    public static void WorkerRunsOnServerlessGpu(QwenTemplate template, string gpuProfileType, long minReplicas, long maxReplicas)
    {
        var app = template.WorkerApp;
        var scope = template.WorkerModule.Scope;
        Assert.Equal("functionapp", (string?)app["kind"]);
        var profileName = scope.Evaluate(app["properties"]!["workloadProfileName"]);
        var environment = template.Root.Module("container-apps-env");
        var profiles = (JsonArray)environment.Scope.Evaluate(
            environment.ResourcesOfType("Microsoft.App/managedEnvironments").Single()["properties"]!["workloadProfiles"])!;
        var profile = profiles.OfType<JsonObject>().SingleOrDefault(p => (string?)p["name"] == (string?)profileName)
            ?? throw new XunitException($"Worker uses workload profile '{profileName}', which the environment does not define.");
        Assert.Equal(gpuProfileType, (string?)profile["workloadProfileType"]);
        var scale = (JsonObject)scope.Evaluate(app["properties"]!["template"]!["scale"])!;
        Assert.Equal(minReplicas, (long)scale["minReplicas"]!);
        Assert.Equal(maxReplicas, (long)scale["maxReplicas"]!);
        var image = QwenTemplate.Text(scope.Evaluate(app["properties"]!["template"]!["containers"]![0]!["image"]));
        Assert.Equal(QwenTemplate.Text(template.Root.Scope.Parameter("workerImage")), image);
    }

    /// <summary>The Flex Consumption app sets no runtime settings Flex rejects, and runs dotnet-isolated from functionAppConfig.</summary>
    public static void ApiAppIsFlexConsumption(QwenTemplate template)
    {
        foreach (var rejected in new[] { "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE" })
        {
            Assert.False(template.ApiSettings.ContainsKey(rejected), $"API app: {rejected} must not be set on Flex Consumption.");
        }
        var plan = template.ApiModule.ResourcesOfType("Microsoft.Web/serverfarms").Single();
        Assert.Equal("FlexConsumption", (string?)plan["sku"]!["tier"]);
        var config = (JsonObject)template.ApiModule.Scope.Evaluate(template.ApiApp["properties"]!["functionAppConfig"])!;
        Assert.Equal("dotnet-isolated", (string?)config["runtime"]!["name"]);
        Assert.Equal("UserAssignedIdentity", (string?)config["deployment"]!["storage"]!["authentication"]!["type"]);
        Assert.True(IsTrue(template.ApiApp["properties"]!["httpsOnly"]), "API app: httpsOnly must be true.");
    }

    private static JsonObject Properties(ArmDeployment deployment, string type)
    {
        var resources = deployment.ResourcesOfType(type).ToArray();
        return resources.Length == 1 && resources[0]["properties"] is JsonObject properties
            ? properties
            : throw new XunitException($"Deployment '{deployment.Name}' should declare one {type} with properties; it declares {resources.Length}.");
    }

    private static IEnumerable<(string App, IReadOnlyDictionary<string, object?> Settings, string IdentityModule)> Apps(QwenTemplate template)
    {
        yield return ("worker", template.WorkerSettings, "identity-worker");
        yield return ("api", template.ApiSettings, "identity-api");
    }

    private static void AssertModuleOutput(string app, IReadOnlyDictionary<string, object?> settings, string name, string module, string output)
    {
        var value = QwenTemplate.Text(settings[name]);
        Assert.True(value.Contains($"'{module}'") && value.EndsWith($".outputs.{output}.value", StringComparison.Ordinal),
            $"{app}: {name} must be the {module} module's {output}; it is {value}");
    }

    // Apostrophes and the like unescaped, so expression text can be searched as written.
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string RawText(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(Relaxed),
    };

    private static bool IsFalse(JsonNode? node) => node is JsonValue v && v.TryGetValue<bool>(out var b) && !b;

    private static bool IsTrue(JsonNode? node) => node is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    [GeneratedRegex(@"(?i)(connectionstring|password|accountkey|primarykey|secondarykey|sharedkey|instrumentationkey|sastoken|(key|keys|secret|secrets)$)")]
    private static partial Regex SecretLikeName();

    [GeneratedRegex(@"(?i)(\blist[a-z]*\(|connectionstring|accountkey|sharedaccesssignature|instrumentationkey)")]
    private static partial Regex SecretLikeValue();
}
