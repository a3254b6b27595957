using static Qwen.Infra.Tests.Arm.BuiltInRoles;

namespace Qwen.Infra.Tests.Arm;

/// <summary>The role assignments main.bicep must make, written out by hand (see docs/deploy.md, "Identities and roles").</summary>
public static class LeastPrivilegePlan
{
    /// <summary>Expected grants for resources named with <paramref name="token"/> (main.bicep's resourceToken).</summary>
    public static IReadOnlyCollection<RoleGrant> For(string token, bool withDeployer)
    {
        var data = $"Microsoft.Storage/storageAccounts/stdata{token}";
        var host = $"Microsoft.Storage/storageAccounts/sthost{token}";
        var models = $"{data}/blobServices/default/containers/models";
        var batches = $"{data}/blobServices/default/containers/batches";
        var batchQueue = $"{data}/queueServices/default/queues/batch-work";
        var poisonQueue = $"{data}/queueServices/default/queues/batch-work-poison";
        var apiKey = $"Microsoft.KeyVault/vaults/kv-{token}/secrets/qwen-api-key";
        var workerKey = $"Microsoft.KeyVault/vaults/kv-{token}/secrets/qwen-worker-key";
        var registry = $"Microsoft.ContainerRegistry/registries/cr{token}";
        var telemetry = $"Microsoft.Insights/components/appi-{token}";

        var grants = new List<RoleGrant>
        {
            new("worker", StorageBlobDataReader, models),
            new("worker", StorageBlobDataContributor, batches),
            new("worker", StorageQueueDataContributor, batchQueue),
            new("worker", StorageQueueDataContributor, poisonQueue),
            new("worker", AcrPull, registry),
            new("worker", KeyVaultSecretsUser, workerKey), // its service credential only, never the clients' key
            new("worker", MonitoringMetricsPublisher, telemetry),
            new("worker", StorageBlobDataOwner, host),
            new("worker", StorageQueueDataContributor, host),
            new("worker", StorageTableDataContributor, host),

            new("api", StorageBlobDataContributor, batches),
            new("api", StorageQueueDataContributor, batchQueue),
            new("api", KeyVaultSecretsUser, apiKey),
            new("api", KeyVaultSecretsUser, workerKey),
            new("api", MonitoringMetricsPublisher, telemetry),
            new("api", StorageBlobDataOwner, host),
            new("api", StorageQueueDataContributor, host),
            new("api", StorageTableDataContributor, host),
        };
        if (withDeployer)
        {
            grants.Add(new("deployer", StorageBlobDataContributor, models));
            grants.Add(new("deployer", StorageBlobDataContributor, batches));
        }
        return grants;
    }
}
