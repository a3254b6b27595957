using Qwen.Serving.Configuration;

namespace Qwen.Infra.Tests.Arm;

/// <summary>
/// Where each setting in <see cref="AppSettingNames.All"/> belongs. A setting added to AppSettingNames without an
/// entry here fails the coverage test, which is the prompt to wire it into infra/app/*.bicep.
/// </summary>
public static class AppSettingPlacement
{
    /// <summary>Settings deliberately absent from Azure, with the reason.</summary>
    public static IReadOnlyDictionary<string, string> NotInAzure { get; } = new Dictionary<string, string>
    {
        [AppSettingNames.ModelPackagePath] =
            "standalone only: a local package directory; in Azure the worker caches the package from Blob (Qwen__Model__BlobContainerUri)",
    };

    /// <summary>Setting name to the app(s) that must set it; every other app must not.</summary>
    public static IReadOnlyDictionary<string, AppHost> Expected { get; } = new Dictionary<string, AppHost>
    {
        [AppSettingNames.ModelPackagePath] = AppHost.None,
        [AppSettingNames.ModelBlobContainerUri] = AppHost.Worker,
        [AppSettingNames.ModelName] = AppHost.Worker,
        [AppSettingNames.ModelVersion] = AppHost.Worker,
        [AppSettingNames.ModelCacheDirectory] = AppHost.Worker,
        [AppSettingNames.ExecutionProvider] = AppHost.Worker,
        [AppSettingNames.IntraOpThreads] = AppHost.Worker,
        [AppSettingNames.MaxBatchSize] = AppHost.Worker,
        [AppSettingNames.MaxQueueLength] = AppHost.Worker,
        [AppSettingNames.MaxContext] = AppHost.Worker,
        [AppSettingNames.KvCacheBudgetBytes] = AppHost.Worker,
        [AppSettingNames.ApiKey] = AppHost.Both,
        [AppSettingNames.ServedModelName] = AppHost.Both,
        [AppSettingNames.MaxRequestBodyBytes] = AppHost.Both,
        [AppSettingNames.BatchQueueName] = AppHost.Both,
        [AppSettingNames.BatchContainerName] = AppHost.Both,
        [AppSettingNames.WorkerBaseUri] = AppHost.Api,
        [AppSettingNames.WorkerApiKey] = AppHost.Api,
        [AppSettingNames.OrchestrationRetentionDays] = AppHost.Api,
        [AppSettingNames.StorageBlobServiceUri] = AppHost.Both,
        [AppSettingNames.StorageQueueServiceUri] = AppHost.Both,
        [AppSettingNames.StorageCredential] = AppHost.Both,
        [AppSettingNames.StorageClientId] = AppHost.Both,
        [AppSettingNames.HostStorageAccountName] = AppHost.Both,
        [AppSettingNames.HostStorageCredential] = AppHost.Both,
        [AppSettingNames.HostStorageClientId] = AppHost.Both,
        [AppSettingNames.AzureClientId] = AppHost.Both,
        [AppSettingNames.AppInsightsConnectionString] = AppHost.Both,
        [AppSettingNames.AppInsightsAuthenticationString] = AppHost.Both,
    };
}
