namespace Qwen.Serving.Configuration;

/// <summary>Every app setting the hosts read, as Azure app-setting names (<c>__</c> = configuration section separator).</summary>
/// <remarks>infra/ sets each of these; tests/Qwen.Infra.Tests asserts the template covers this list.</remarks>
public static class AppSettingNames
{
    // Model package: a local directory (standalone) or a Blob location cached to local disk (Azure).
    public const string ModelPackagePath = "Qwen__Model__PackagePath";
    public const string ModelBlobContainerUri = "Qwen__Model__BlobContainerUri";
    public const string ModelName = "Qwen__Model__Name";
    public const string ModelVersion = "Qwen__Model__Version";
    public const string ModelCacheDirectory = "Qwen__Model__CacheDirectory";

    // Engine.
    public const string ExecutionProvider = "Qwen__Engine__ExecutionProvider";
    public const string IntraOpThreads = "Qwen__Engine__IntraOpThreads";
    public const string MaxBatchSize = "Qwen__Engine__MaxBatchSize";
    public const string MaxQueueLength = "Qwen__Engine__MaxQueueLength";
    public const string MaxContext = "Qwen__Engine__MaxContext";
    public const string KvCacheBudgetBytes = "Qwen__Engine__KvCacheBudgetBytes";

    // API surface.
    public const string ApiKey = "Qwen__Serving__ApiKey";
    public const string ServedModelName = "Qwen__Serving__ModelName";
    public const string MaxRequestBodyBytes = "Qwen__Serving__MaxRequestBodyBytes";

    // Batch generation (queue-triggered) and the API app's link to the GPU worker.
    public const string BatchQueueName = "Qwen__Batch__QueueName";
    public const string BatchContainerName = "Qwen__Batch__ContainerName";
    public const string WorkerBaseUri = "Qwen__Worker__BaseUri";
    // The service credential the API app presents to the worker (never the clients' key); the worker's own Qwen__Serving__ApiKey.
    public const string WorkerApiKey = "Qwen__Worker__ApiKey";

    // Chat sessions and agent runs (Durable): days a finished instance is kept before the hourly purge.
    public const string OrchestrationRetentionDays = "Qwen__Orchestrations__RetentionDays";

    // Identity-based storage connection used by the blob/queue triggers and the SDK clients.
    public const string StorageBlobServiceUri = "QwenStorage__blobServiceUri";
    public const string StorageQueueServiceUri = "QwenStorage__queueServiceUri";
    public const string StorageCredential = "QwenStorage__credential";
    public const string StorageClientId = "QwenStorage__clientId";

    // Host storage (Durable Functions task hub) and the identity DefaultAzureCredential uses.
    public const string HostStorageAccountName = "AzureWebJobsStorage__accountName";
    public const string HostStorageCredential = "AzureWebJobsStorage__credential";
    public const string HostStorageClientId = "AzureWebJobsStorage__clientId";
    public const string AzureClientId = "AZURE_CLIENT_ID";
    public const string AppInsightsConnectionString = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AppInsightsAuthenticationString = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

    /// <summary>All settings above, for tests that check the template sets each one.</summary>
    public static IReadOnlyList<string> All { get; } = typeof(AppSettingNames)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToArray();
}
