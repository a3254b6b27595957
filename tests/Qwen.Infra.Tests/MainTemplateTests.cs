using System.Globalization;
using System.Text.Json.Nodes;
using Qwen.Infra.Tests.Arm;
using Qwen.Infra.Tests.Bicep;
using Qwen.Serving.Configuration;

namespace Qwen.Infra.Tests;

/// <summary>What main.bicep compiles to: locked-down storage, least-privilege roles, no secrets out, settings wired.</summary>
[Collection(InfraCollection.Name)]
public sealed class MainTemplateTests(InfraFixture infra)
{
    private QwenTemplate Template => new(infra.Deploy());

    [Fact]
    public void StorageAccounts_Compiled_AreLockedDown() => TemplateAssertions.StorageIsLockedDown(Template);

    [Fact]
    public void StorageAccounts_Compiled_AreTheDataAndHostAccounts()
    {
        var modules = Template.StorageAccounts.Select(s => s.Deployment.Name).Order().ToArray();
        Assert.Equal(["storage-data", "storage-host"], modules);
    }

    [Fact]
    public void Services_Compiled_AcceptEntraOnly() => TemplateAssertions.ServicesAcceptEntraOnly(Template);

    [Fact]
    public void Outputs_AllTemplates_ExposeNoSecrets() => TemplateAssertions.OutputsExposeNoSecrets(Template);

    [Fact]
    public void Template_Compiled_ReadsNoKeys() => TemplateAssertions.NoKeysAnywhere(Template);

    [Fact]
    public void RoleAssignments_WithDeployer_MatchLeastPrivilegePlan()
    {
        var template = Template;
        TemplateAssertions.RoleAssignmentsAre(template, LeastPrivilegePlan.For(template.ResourceToken, withDeployer: true));
    }

    [Fact]
    public void RoleAssignments_WithoutDeployer_SkipDeployerGrants()
    {
        var parameters = new Dictionary<string, object?>(InfraFixture.DeploymentParameters) { ["principalId"] = "" };
        var template = new QwenTemplate(ArmDeployment.Root(infra.MainTemplate, parameters));
        TemplateAssertions.RoleAssignmentsAre(template, LeastPrivilegePlan.For(template.ResourceToken, withDeployer: false));
    }

    [Fact]
    public void RoleAssignments_Models_WorkerOnlyReads()
    {
        var grants = Template.RoleGrants.Where(g => g.Principal == "worker" && g.Scope.EndsWith("/containers/models", StringComparison.Ordinal)).ToArray();
        Assert.Equal([BuiltInRoles.StorageBlobDataReader], grants.Select(g => g.RoleId));
    }

    [Fact]
    public void AppSettings_AllNames_AreSetOnTheRightApp() =>
        TemplateAssertions.AppSettingsArePlaced(Template, AppSettingNames.All);

    [Fact]
    public void AppSettingPlacement_Table_MatchesAppSettingNames()
    {
        Assert.Equal(AppSettingNames.All.Order(), AppSettingPlacement.Expected.Keys.Order());
        foreach (var (name, reason) in AppSettingPlacement.NotInAzure)
        {
            Assert.Equal(AppHost.None, AppSettingPlacement.Expected[name]);
            Assert.False(string.IsNullOrWhiteSpace(reason));
        }
        Assert.All(AppSettingPlacement.Expected.Where(p => p.Value == AppHost.None), p => Assert.Contains(p.Key, AppSettingPlacement.NotInAzure.Keys));
    }

    [Fact]
    public void AppSettings_Storage_UseManagedIdentity() => TemplateAssertions.StorageSettingsUseIdentity(Template);

    [Fact]
    public void AppSettings_ApiKey_ComesFromKeyVault() => TemplateAssertions.ApiKeyComesFromKeyVault(Template);

    [Fact]
    public void ContainerAppsEnvironment_Compiled_IsInternalInTheVnet() => NetworkAssertions.ContainerAppsEnvironmentIsInternal(Template);

    [Fact]
    public void ContainerAppsEnvironment_Domain_HasPrivateDnsZoneLinkedToVnet() => NetworkAssertions.EnvironmentDomainHasPrivateDnsZone(Template);

    [Fact]
    public void ApiApp_Compiled_IsVnetIntegratedInTheSameVnet() => NetworkAssertions.ApiAppIsInTheVnet(Template);

    [Fact]
    public void StorageAndKeyVault_Compiled_PrivateEndpointsOnlyAndPurgeProtection() => NetworkAssertions.StorageAndVaultArePrivate(Template);

    [Fact]
    public void Worker_Compiled_ProbesWaitForTheModel() => NetworkAssertions.WorkerProbesWaitForTheModel(Template);

    [Fact]
    public void Worker_Compiled_AcceptsOnlyTheServiceCredential() => NetworkAssertions.WorkerAcceptsOnlyTheServiceCredential(Template);

    [Fact]
    public void ApiApp_Compiled_IsFlexConsumption() => TemplateAssertions.ApiAppIsFlexConsumption(Template);

    [Fact]
    public void ApiApp_BatchTriggers_AreDisabledThereOnly()
    {
        var api = Template.ApiSettings;
        var worker = Template.WorkerSettings;
        foreach (var function in new[] { "BatchGenerate", "BatchPoison" })
        {
            Assert.Equal("true", api[$"AzureWebJobs.{function}.Disabled"]);
            Assert.False(worker.ContainsKey($"AzureWebJobs.{function}.Disabled"));
        }
    }

    [Fact]
    public void DurableTaskHubs_PerApp_AreDistinct()
    {
        const string hub = "AzureFunctionsJobHost__extensions__durableTask__hubName";
        Assert.Equal("QwenHub", Template.ApiSettings[hub]);
        Assert.Equal("QwenWorkerHub", Template.WorkerSettings[hub]);
    }

    [Theory]
    [InlineData("Consumption-GPU-NC8as-T4", 0, 1, "8", "2048", "4", "4294967296")]
    [InlineData("Consumption-GPU-NC24-A100", 1, 3, "24", "8192", "8", "34359738368")]
    public void Worker_GpuProfile_SetsProfileReplicasAndEngineDefaults(string profile, long min, long max, string threads, string context, string batch, string kvBudget)
    {
        var parameters = new Dictionary<string, object?>(InfraFixture.DeploymentParameters)
        {
            ["gpuProfileType"] = profile,
            ["workerMinReplicas"] = min,
            ["workerMaxReplicas"] = max,
        };
        var template = new QwenTemplate(ArmDeployment.Root(infra.MainTemplate, parameters));
        TemplateAssertions.WorkerRunsOnServerlessGpu(template, profile, min, max);
        var settings = template.WorkerSettings;
        Assert.Equal(threads, settings[AppSettingNames.IntraOpThreads]);
        Assert.Equal(context, settings[AppSettingNames.MaxContext]);
        Assert.Equal(batch, settings[AppSettingNames.MaxBatchSize]);
        Assert.Equal("64", settings[AppSettingNames.MaxQueueLength]);
        // The budget holds exactly the profile's rows × context of Qwen-7B's fp16 KV (512 KiB per position).
        Assert.Equal(long.Parse(batch, CultureInfo.InvariantCulture) * long.Parse(context, CultureInfo.InvariantCulture) * 524288, long.Parse(kvBudget, CultureInfo.InvariantCulture));
        Assert.Equal(kvBudget, settings[AppSettingNames.KvCacheBudgetBytes]);
    }

    [Fact]
    public void Worker_EngineOverrides_WinOverProfileDefaults()
    {
        var parameters = new Dictionary<string, object?>(InfraFixture.DeploymentParameters)
        {
            ["maxBatchSize"] = 2L,
            ["maxContext"] = 2048L,
            ["maxQueueLength"] = 8L,
        };
        var settings = new QwenTemplate(ArmDeployment.Root(infra.MainTemplate, parameters)).WorkerSettings;
        Assert.Equal("2", settings[AppSettingNames.MaxBatchSize]);
        Assert.Equal("2048", settings[AppSettingNames.MaxContext]);
        Assert.Equal("8", settings[AppSettingNames.MaxQueueLength]);
    }

    [Fact]
    public void Worker_Registry_PullsWithWorkerIdentity()
    {
        var template = Template;
        var registries = (JsonArray)template.WorkerModule.Scope.Evaluate(template.WorkerApp["properties"]!["configuration"]!["registries"])!;
        var registry = Assert.Single(registries.OfType<JsonObject>());
        Assert.Null(registry["passwordSecretRef"]);
        Assert.Contains("'identity-worker'", (string?)registry["identity"]);
    }
}
