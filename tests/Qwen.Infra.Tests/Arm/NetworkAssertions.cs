using System.Text.Json.Nodes;
using Xunit.Sdk;

namespace Qwen.Infra.Tests.Arm;

/// <summary>The network shape: one public endpoint (the API app), an internal GPU worker, storage and Key Vault behind private endpoints.</summary>
public static class NetworkAssertions
{
    /// <summary>The Container Apps environment is internal (no public inbound IP) in the VNet's delegated infrastructure subnet.</summary>
    public static void ContainerAppsEnvironmentIsInternal(QwenTemplate template)
    {
        var module = template.Root.Module("container-apps-env");
        var environment = Single(module, "Microsoft.App/managedEnvironments");
        var vnet = module.Scope.Evaluate(environment["properties"]!["vnetConfiguration"]) as JsonObject
            ?? throw new XunitException("Container Apps environment: no vnetConfiguration (it would get a public inbound IP).");
        Assert.True(IsTrue(vnet["internal"]), "Container Apps environment: vnetConfiguration.internal must be true (no public inbound IP).");
        AssertModuleOutput("Container Apps environment infrastructureSubnetId", (string?)vnet["infrastructureSubnetId"], "network", "containerAppsSubnetId");
        var delegation = SubnetDelegation(template, "snet-container-apps");
        Assert.True(delegation == "Microsoft.App/environments", $"Container Apps subnet must be delegated to Microsoft.App/environments; it is '{delegation}'.");
        // In an internal environment, external ingress means "reachable from the VNet"; internal-only would hide the worker from the API app.
        var ingress = template.WorkerApp["properties"]!["configuration"]!["ingress"]!;
        Assert.True(IsTrue(ingress["external"]), "Worker ingress: external must be true so the VNet-integrated API app reaches it (the environment itself is internal).");
    }

    /// <summary>A private DNS zone named for the environment's domain, linked to the VNet, sends every app name to the environment's private IP.</summary>
    public static void EnvironmentDomainHasPrivateDnsZone(QwenTemplate template)
    {
        var zone = template.Root.Module("dns-container-apps");
        AssertModuleOutput("Private DNS zone name", Parameter(zone, "name"), "container-apps-env", "defaultDomain");
        AssertModuleOutput("Private DNS zone records", Parameter(zone, "recordAddress"), "container-apps-env", "staticIp");
        AssertLinkedToVnet(zone);
        // The raw name (format('{0}/{1}', zone, '*')): a wildcard record covers every app of the environment.
        var records = zone.ResourcesOfType("Microsoft.Network/privateDnsZones/A").Select(r => (string?)r["name"] ?? "").ToArray();
        Assert.Contains(records, n => n.Contains("'*'", StringComparison.Ordinal) || n.EndsWith("/*", StringComparison.Ordinal));
    }

    /// <summary>The Flex app is VNet-integrated into the same VNet's delegated subnet.</summary>
    public static void ApiAppIsInTheVnet(QwenTemplate template)
    {
        var subnet = template.ApiModule.Scope.Evaluate(template.ApiApp["properties"]!["virtualNetworkSubnetId"]);
        AssertModuleOutput("API app virtualNetworkSubnetId", subnet, "network", "apiSubnetId");
        var delegation = SubnetDelegation(template, "snet-api");
        Assert.True(delegation == "Microsoft.App/environments", $"Flex Consumption subnet must be delegated to Microsoft.App/environments; it is '{delegation}'.");
    }

    /// <summary>Storage accounts and Key Vault refuse public network access and are reached through private endpoints with private DNS; purge protection is on.</summary>
    public static void StorageAndVaultArePrivate(QwenTemplate template)
    {
        foreach (var (deployment, account) in template.StorageAccounts)
        {
            var properties = (JsonObject)account["properties"]!;
            Assert.True((string?)deployment.Scope.Evaluate(properties["publicNetworkAccess"]) == "Disabled", $"Storage in '{deployment.Name}': publicNetworkAccess must be Disabled.");
            Assert.True((string?)properties["networkAcls"]?["defaultAction"] == "Deny", $"Storage in '{deployment.Name}': networkAcls.defaultAction must be Deny.");
        }
        var vaultModule = template.Root.Module("keyvault");
        var vault = (JsonObject)Single(vaultModule, "Microsoft.KeyVault/vaults")["properties"]!;
        Assert.True((string?)vaultModule.Scope.Evaluate(vault["publicNetworkAccess"]) == "Disabled", "Key Vault: publicNetworkAccess must be Disabled.");
        Assert.True(IsTrue(vaultModule.Scope.Evaluate(vault["enablePurgeProtection"])), "Key Vault: enablePurgeProtection must be true.");

        foreach (var (name, target, group, zone) in new[]
        {
            ("pe-data-blob", "storage-data", "blob", "dns-blob"),
            ("pe-data-queue", "storage-data", "queue", "dns-queue"),
            ("pe-host-blob", "storage-host", "blob", "dns-blob"),
            ("pe-host-queue", "storage-host", "queue", "dns-queue"),
            ("pe-host-table", "storage-host", "table", "dns-table"),
            ("pe-vault", "keyvault", "vault", "dns-vault"),
        })
        {
            var endpoint = template.Root.Module(name);
            AssertModuleOutput($"{name} target", Parameter(endpoint, "targetId"), target, "id");
            Assert.Equal(group, Parameter(endpoint, "groupId"));
            AssertModuleOutput($"{name} subnet", Parameter(endpoint, "subnetId"), "network", "privateEndpointSubnetId");
            AssertModuleOutput($"{name} DNS zone", Parameter(endpoint, "privateDnsZoneId"), zone, "id");
            Assert.Single(endpoint.ResourcesOfType("Microsoft.Network/privateEndpoints/privateDnsZoneGroups"));
            AssertLinkedToVnet(template.Root.Module(zone));
        }
    }

    /// <summary>The worker has a startup probe and a readiness probe on /ready, so no request reaches a replica before its model is loaded.</summary>
    public static void WorkerProbesWaitForTheModel(QwenTemplate template)
    {
        var container = template.WorkerApp["properties"]!["template"]!["containers"]![0]!;
        var probes = template.WorkerModule.Scope.Evaluate(container["probes"]) as JsonArray
            ?? throw new XunitException("Worker: no probes.");
        var byType = probes.OfType<JsonObject>().ToDictionary(p => (string)p["type"]!, p => p);
        Assert.True(byType.ContainsKey("Startup"), "Worker: no startup probe.");
        Assert.True(byType.TryGetValue("Readiness", out var readiness), "Worker: no readiness probe.");
        Assert.Equal("/ready", (string?)readiness!["httpGet"]?["path"]);
    }

    /// <summary>The worker accepts only the service credential; the API app holds both the clients' key and the service credential.</summary>
    public static void WorkerAcceptsOnlyTheServiceCredential(QwenTemplate template)
    {
        var secretName = Assert.IsType<SecretReference>(template.WorkerSettings["Qwen__Serving__ApiKey"]).SecretName;
        var secrets = (JsonArray)template.WorkerModule.Scope.Evaluate(template.WorkerApp["properties"]!["configuration"]!["secrets"])!;
        var secret = secrets.OfType<JsonObject>().Single(s => (string?)s["name"] == secretName);
        var url = (string?)secret["keyVaultUrl"] ?? "";
        Assert.True(url.Contains("'keyvault'") && url.EndsWith(".outputs.workerKeyUri.value", StringComparison.Ordinal),
            $"Worker: its API key must be the service credential secret (keyvault workerKeyUri); it is '{url}'.");
        Assert.DoesNotContain(secrets.OfType<JsonObject>(), s => ((string?)s["keyVaultUrl"] ?? "").Contains("apiKeyUri", StringComparison.Ordinal));
        var apiValue = QwenTemplate.Text(template.ApiSettings["Qwen__Worker__ApiKey"]);
        Assert.True(apiValue.StartsWith("@Microsoft.KeyVault(SecretUri=", StringComparison.Ordinal) && apiValue.EndsWith(".outputs.workerKeyUri.value)", StringComparison.Ordinal),
            $"API app: Qwen__Worker__ApiKey must be a Key Vault reference to the service credential; it is {apiValue}");
    }

    private static void AssertLinkedToVnet(ArmDeployment zone)
    {
        Assert.Single(zone.ResourcesOfType("Microsoft.Network/privateDnsZones/virtualNetworkLinks"));
        AssertModuleOutput($"DNS zone '{zone.Name}' VNet link", Parameter(zone, "vnetId"), "network", "id");
    }

    private static object? Parameter(ArmDeployment deployment, string name) => deployment.Scope.Parameter(name);

    private static string? SubnetDelegation(QwenTemplate template, string subnetName)
    {
        var network = template.Root.Module("network");
        var vnet = Single(network, "Microsoft.Network/virtualNetworks");
        var subnets = network.Scope.Evaluate(vnet["properties"]!["subnets"]) as JsonArray ?? [];
        var subnet = subnets.OfType<JsonObject>().SingleOrDefault(s => (string?)s["name"] == subnetName)
            ?? throw new XunitException($"The VNet has no subnet '{subnetName}'.");
        return (string?)subnet["properties"]?["delegations"]?[0]?["properties"]?["serviceName"];
    }

    private static void AssertModuleOutput(string what, object? value, string module, string output)
    {
        var text = QwenTemplate.Text(value);
        Assert.True(text.Contains($"'{module}'", StringComparison.Ordinal) && text.EndsWith($".outputs.{output}.value", StringComparison.Ordinal),
            $"{what} must be the '{module}' module's output '{output}'; it is {text}");
    }

    private static JsonObject Single(ArmDeployment deployment, string type)
    {
        var matches = deployment.ResourcesOfType(type).ToArray();
        return matches.Length == 1 ? matches[0] : throw new XunitException($"Deployment '{deployment.Name}' should declare one {type}; it declares {matches.Length}.");
    }

    private static bool IsTrue(object? value) => value switch
    {
        bool b => b,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        _ => false,
    };
}
