using System.Text.Json.Nodes;
using Qwen.Infra.Tests.Arm;
using Qwen.Infra.Tests.Bicep;
using Qwen.Serving.Configuration;
using Xunit.Sdk;

namespace Qwen.Infra.Tests;

/// <summary>
/// The assertions catch real mistakes: each case damages a copy of the compiled main.bicep the way a careless
/// edit would, and the matching assertion must pass on the original and fail on the copy.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class TemplateBreakageTests(InfraFixture infra)
{
    private static readonly Dictionary<string, (Action<JsonObject> Break, Action<QwenTemplate> Check)> Cases = new()
    {
        ["shared key access on"] = (
            t => StorageAccount(t)["properties"]!["allowSharedKeyAccess"] = true,
            TemplateAssertions.StorageIsLockedDown),
        ["public blob access on"] = (
            t => StorageAccount(t)["properties"]!["allowBlobPublicAccess"] = true,
            TemplateAssertions.StorageIsLockedDown),
        ["TLS 1.0 allowed"] = (
            t => StorageAccount(t)["properties"]!["minimumTlsVersion"] = "TLS1_0",
            TemplateAssertions.StorageIsLockedDown),
        ["HTTP allowed"] = (
            t => StorageAccount(t)["properties"]!["supportsHttpsTrafficOnly"] = false,
            TemplateAssertions.StorageIsLockedDown),
        ["output lists account keys"] = (
            t => ((JsonObject)t["outputs"]!)["STORAGE"] = new JsonObject
            {
                ["type"] = "string",
                ["value"] = "[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'x'), '2025-01-01').keys[0].value]",
            },
            TemplateAssertions.OutputsExposeNoSecrets),
        ["module output named like a connection string"] = (
            t => ((JsonObject)Module(t, "monitoring")["outputs"]!)["connectionString"] = new JsonObject
            {
                ["type"] = "string",
                ["value"] = "[reference('appi').ConnectionString]",
            },
            TemplateAssertions.OutputsExposeNoSecrets),
        ["secure parameter echoed in an output"] = (
            t => ((JsonObject)t["outputs"]!)["QWEN_ENDPOINT"] = new JsonObject
            {
                ["type"] = "string",
                ["value"] = "[format('https://x/?k={0}', parameters('qwenApiKey'))]",
            },
            TemplateAssertions.OutputsExposeNoSecrets),
        ["worker gets write access to models"] = (
            t => RoleAssignment(t, "storageBlobDataReader")["properties"]!["roleDefinitionId"] =
                $"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{BuiltInRoles.StorageBlobDataContributor}')]",
            t => TemplateAssertions.RoleAssignmentsAre(t, LeastPrivilegePlan.For(t.ResourceToken, withDeployer: true))),
        ["models role widened to the whole account"] = (
            t => RoleAssignment(t, "storageBlobDataReader")["scope"] =
                "[resourceId('Microsoft.Storage/storageAccounts', parameters('dataStorageName'))]",
            t => TemplateAssertions.RoleAssignmentsAre(t, LeastPrivilegePlan.For(t.ResourceToken, withDeployer: true))),
        ["worker setting removed"] = (
            t => RemoveWhere(WorkerEnv(t), e => (string?)e["name"] == AppSettingNames.ModelName),
            t => TemplateAssertions.AppSettingsArePlaced(t, AppSettingNames.All)),
        ["engine setting leaks to the API app"] = (
            t => ApiSettings(t).Add(new JsonObject { ["name"] = AppSettingNames.ExecutionProvider, ["value"] = "cuda" }),
            t => TemplateAssertions.AppSettingsArePlaced(t, AppSettingNames.All)),
        ["API key as a literal"] = (
            t => ((JsonObject)ApiSettings(t).Single(e => (string?)e!["name"] == AppSettingNames.ApiKey)!)["value"] = "sk-0123456789abcdef0123456789abcdef",
            TemplateAssertions.ApiKeyComesFromKeyVault),
        ["worker secret inlined"] = (
            t => WorkerSecrets(t)[0]!["value"] = "[parameters('serviceKeyUri')]",
            TemplateAssertions.ApiKeyComesFromKeyVault),
        ["storage connection string setting"] = (
            t => ApiSettings(t).Add(new JsonObject { ["name"] = "AzureWebJobsStorage", ["value"] = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=y" }),
            TemplateAssertions.StorageSettingsUseIdentity),
        ["Key Vault access policies instead of RBAC"] = (
            t => Resource(Module(t, "keyvault"), "Microsoft.KeyVault/vaults")["properties"]!["enableRbacAuthorization"] = false,
            TemplateAssertions.ServicesAcceptEntraOnly),
        ["registry admin user on"] = (
            t => Resource(Module(t, "registry"), "Microsoft.ContainerRegistry/registries")["properties"]!["adminUserEnabled"] = true,
            TemplateAssertions.ServicesAcceptEntraOnly),
        ["worker ingress allows HTTP"] = (
            t => WorkerApp(t)["properties"]!["configuration"]!["ingress"]!["allowInsecure"] = true,
            TemplateAssertions.ServicesAcceptEntraOnly),
        ["worker on the CPU consumption profile"] = (
            t => WorkerApp(t)["properties"]!["workloadProfileName"] = "Consumption",
            t => TemplateAssertions.WorkerRunsOnServerlessGpu(t, "Consumption-GPU-NC8as-T4", 0, 1)),
        ["Container Apps environment public"] = (
            t => Resource(Module(t, "container-apps-env"), "Microsoft.App/managedEnvironments")["properties"]!["vnetConfiguration"]!["internal"] = false,
            NetworkAssertions.ContainerAppsEnvironmentIsInternal),
        ["worker ingress limited to the environment"] = (
            t => WorkerApp(t)["properties"]!["configuration"]!["ingress"]!["external"] = false,
            NetworkAssertions.ContainerAppsEnvironmentIsInternal),
        ["environment DNS zone not linked"] = (
            t => RemoveWhere(ResourceList(Module(t, "dns-container-apps")), r => (string?)r["type"] == "Microsoft.Network/privateDnsZones/virtualNetworkLinks"),
            NetworkAssertions.EnvironmentDomainHasPrivateDnsZone),
        ["API app not VNet-integrated"] = (
            t => ((JsonObject)Resource(Module(t, "api"), "Microsoft.Web/sites")["properties"]!).Remove("virtualNetworkSubnetId"),
            NetworkAssertions.ApiAppIsInTheVnet),
        ["storage public network access on"] = (
            t => StorageAccount(t)["properties"]!["publicNetworkAccess"] = "Enabled",
            NetworkAssertions.StorageAndVaultArePrivate),
        ["Key Vault public network access on"] = (
            t => Resource(Module(t, "keyvault"), "Microsoft.KeyVault/vaults")["properties"]!["publicNetworkAccess"] = "Enabled",
            NetworkAssertions.StorageAndVaultArePrivate),
        ["Key Vault purge protection off"] = (
            t => Resource(Module(t, "keyvault"), "Microsoft.KeyVault/vaults")["properties"]!["enablePurgeProtection"] = false,
            NetworkAssertions.StorageAndVaultArePrivate),
        ["worker readiness probe removed"] = (
            t => RemoveWhere((JsonArray)WorkerApp(t)["properties"]!["template"]!["containers"]![0]!["probes"]!, p => (string?)p["type"] == "Readiness"),
            NetworkAssertions.WorkerProbesWaitForTheModel),
        ["worker reads the clients' key"] = (
            t =>
            {
                // main.bicep hands the worker the clients' key secret instead of the service credential.
                var binding = ModuleCall(t, "worker")["properties"]!["parameters"]!["serviceKeyUri"]!;
                binding["value"] = ((string)binding["value"]!).Replace("workerKeyUri", "apiKeyUri", StringComparison.Ordinal);
            },
            NetworkAssertions.WorkerAcceptsOnlyTheServiceCredential),
    };

    /// <summary>The breakage case names.</summary>
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys)
        {
            data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Assertion_DamagedTemplate_Fails(string caseName)
    {
        var (breakIt, check) = Cases[caseName];
        check(new QwenTemplate(infra.Deploy())); // passes on the real template

        var damaged = (JsonObject)infra.MainTemplate.DeepClone();
        breakIt(damaged);
        Assert.ThrowsAny<XunitException>(() => check(new QwenTemplate(infra.Deploy(damaged))));
    }

    private static JsonObject ModuleCall(JsonObject main, string name) =>
        Resources(main).Single(r => (string?)r["type"] == "Microsoft.Resources/deployments" && (string?)r["name"] == name);

    private static JsonObject Module(JsonObject main, string name) =>
        (JsonObject)Resources(main)
            .Single(r => (string?)r["type"] == "Microsoft.Resources/deployments" && (string?)r["name"] == name)["properties"]!["template"]!;

    private static JsonObject Resource(JsonObject template, string type) =>
        Resources(template).Single(r => (string?)r["type"] == type);

    // Bicep emits resources as an array, or as an object keyed by symbolic name (language version 2.0).
    private static IEnumerable<JsonObject> Resources(JsonObject template) => template["resources"] switch
    {
        JsonArray array => array.OfType<JsonObject>(),
        JsonObject symbolic => symbolic.Select(p => p.Value).OfType<JsonObject>(),
        _ => [],
    };

    // Resources in the array form (a removable list); Bicep's symbolic-name form is removed by key.
    private static JsonArray ResourceList(JsonObject template) => template["resources"] switch
    {
        JsonArray array => array,
        JsonObject symbolic => SymbolicAsList(template, symbolic),
        _ => throw new InvalidOperationException("template has no resources"),
    };

    private static JsonArray SymbolicAsList(JsonObject template, JsonObject symbolic)
    {
        // Turn the object into an array so RemoveWhere works on both forms; ARM evaluation here reads either.
        var list = new JsonArray(symbolic.Select(p => p.Value?.DeepClone()).ToArray());
        template["resources"] = list;
        return list;
    }

    private static JsonObject StorageAccount(JsonObject main) => Resource(Module(main, "storage-data"), "Microsoft.Storage/storageAccounts");

    private static JsonObject WorkerApp(JsonObject main) => Resource(Module(main, "worker"), "Microsoft.App/containerApps");

    private static JsonArray WorkerEnv(JsonObject main) => (JsonArray)WorkerApp(main)["properties"]!["template"]!["containers"]![0]!["env"]!;

    private static JsonArray WorkerSecrets(JsonObject main) => (JsonArray)WorkerApp(main)["properties"]!["configuration"]!["secrets"]!;

    private static JsonArray ApiSettings(JsonObject main) =>
        (JsonArray)Resource(Module(main, "api"), "Microsoft.Web/sites")["properties"]!["siteConfig"]!["appSettings"]!;

    // The worker's models assignment: the only one using the Storage Blob Data Reader role.
    private static JsonObject RoleAssignment(JsonObject main, string roleVariable) =>
        Resources(Module(main, "rbac"))
            .Single(r => (string?)r["type"] == "Microsoft.Authorization/roleAssignments"
                && ((string?)r["properties"]!["roleDefinitionId"])!.Contains($"variables('roles').{roleVariable}", StringComparison.Ordinal));

    private static void RemoveWhere(JsonArray array, Func<JsonObject, bool> predicate)
    {
        var item = array.OfType<JsonObject>().Single(predicate);
        array.Remove(item);
    }
}
