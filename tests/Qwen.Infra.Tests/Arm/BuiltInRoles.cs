namespace Qwen.Infra.Tests.Arm;

/// <summary>Azure built-in role definition IDs (identical in every tenant), written out independently of infra/.</summary>
public static class BuiltInRoles
{
    public const string StorageBlobDataReader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    public const string StorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    public const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    public const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    public const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    public const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
    public const string AcrPull = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
    public const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";

    /// <summary>Display name of a role GUID used here, for readable failures.</summary>
    public static string NameOf(string roleId) => roleId switch
    {
        StorageBlobDataReader => "Storage Blob Data Reader",
        StorageBlobDataContributor => "Storage Blob Data Contributor",
        StorageBlobDataOwner => "Storage Blob Data Owner",
        StorageQueueDataContributor => "Storage Queue Data Contributor",
        StorageTableDataContributor => "Storage Table Data Contributor",
        KeyVaultSecretsUser => "Key Vault Secrets User",
        AcrPull => "AcrPull",
        MonitoringMetricsPublisher => "Monitoring Metrics Publisher",
        _ => "unknown role",
    };
}
