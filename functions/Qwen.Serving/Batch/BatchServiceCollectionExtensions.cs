using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Qwen.Serving.Batch.Queue;
using Qwen.Serving.Batch.Storage;
using Qwen.Serving.Configuration;
using Qwen.Serving.Http;
using Qwen.Serving.ModelCache;
using Qwen.Serving.Orchestrations;

namespace Qwen.Serving.Batch;

/// <summary>Registers batch generation: the Files and Batches handlers, the processor, and one of two storage + queue pairs.</summary>
public static class BatchServiceCollectionExtensions
{
    /// <summary>DI key of the batches <see cref="BlobContainerClient"/>.</summary>
    public const string BatchContainerKey = "qwen-batches";

    /// <summary>DI key of the batch <see cref="QueueClient"/>.</summary>
    public const string BatchQueueKey = "qwen-batches";

    /// <summary>Azure: files and state in the batches Blob container (<c>QwenStorage__blobServiceUri</c>), work on the Storage queue
    /// (<c>QwenStorage__queueServiceUri</c>) read by the queue trigger; both reached with the managed identity.</summary>
    /// <remarks>A test registers the keyed <see cref="BlobContainerClient"/> and <see cref="QueueClient"/> first to point at Azurite.</remarks>
    public static IServiceCollection AddQwenBatch(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddKeyedSingleton(BatchContainerKey, (sp, _) =>
        {
            var uri = ServiceUri(configuration, AppSettingNames.StorageBlobServiceUri, "blob");
            return new BlobServiceClient(uri, ModelCacheServiceCollectionExtensions.CreateCredential(configuration))
                .GetBlobContainerClient(sp.GetRequiredService<BatchOptions>().ContainerName);
        });
        services.TryAddKeyedSingleton(BatchQueueKey, (sp, _) =>
        {
            var uri = ServiceUri(configuration, AppSettingNames.StorageQueueServiceUri, "queue");
            return new QueueServiceClient(uri, ModelCacheServiceCollectionExtensions.CreateCredential(configuration), StorageBatchQueue.CreateClientOptions())
                .GetQueueClient(sp.GetRequiredService<BatchOptions>().QueueName);
        });
        services.TryAddSingleton<IBatchStorage>(sp => new BlobBatchStorage(sp.GetRequiredKeyedService<BlobContainerClient>(BatchContainerKey)));
        services.TryAddSingleton<IBatchQueue>(sp => new StorageBatchQueue(sp.GetRequiredKeyedService<QueueClient>(BatchQueueKey)));
        return services.AddBatchCore(configuration);
    }

    /// <summary>Standalone: files and state in a local data directory (<c>Qwen:Batch:DataDirectory</c>, <c>--data-dir</c>), work in an
    /// in-process queue whose worker resumes unfinished batches at start.</summary>
    public static IServiceCollection AddQwenLocalBatch(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton<IBatchStorage>(sp =>
        {
            var directory = sp.GetRequiredService<BatchOptions>().DataDirectory;
            return new LocalBatchStorage(string.IsNullOrWhiteSpace(directory) ? BatchOptions.DefaultDataDirectory : directory);
        });
        services.TryAddSingleton<InProcessBatchQueue>();
        services.TryAddSingleton<IBatchQueue>(sp => sp.GetRequiredService<InProcessBatchQueue>());
        services.AddHostedService(sp => new LocalBatchWorker(
            sp.GetRequiredService<InProcessBatchQueue>(),
            sp.GetRequiredService<BatchProcessor>(),
            sp.GetRequiredService<BatchPoisonProcessor>(),
            sp.GetRequiredService<BatchOptions>(),
            sp.GetRequiredService<ILogger<LocalBatchWorker>>()));
        return services.AddBatchCore(configuration);
    }

    private static IServiceCollection AddBatchCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(_ =>
        {
            var options = new BatchOptions();
            configuration.GetSection(BatchOptions.SectionName).Bind(options);
            return options;
        });
        services.TryAddSingleton(TimeProvider.System);
        // The online endpoint's handler when the host has the HTTP API (identical answers); else the compact chat mapping.
        services.TryAddSingleton<IBatchRequestHandler>(sp => sp.GetService<ChatCompletionsHandler>() is { } chat
            ? new OpenAiHandlersBatchRequestHandler(chat, sp.GetRequiredService<CompletionsHandler>(), sp.GetRequiredService<IOptions<HttpApiOptions>>())
            : new ChatCompletionsBatchHandler(sp.GetRequiredService<IChatTurnModel>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new BatchStore(sp.GetRequiredService<IBatchStorage>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new BatchProcessor(
            sp.GetRequiredService<BatchStore>(),
            sp.GetRequiredService<IBatchRequestHandler>(),
            sp.GetRequiredService<IBatchQueue>(),
            sp.GetRequiredService<BatchOptions>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<BatchProcessor>>()));
        services.TryAddSingleton(sp => new BatchPoisonProcessor(
            sp.GetRequiredService<BatchProcessor>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<BatchPoisonProcessor>>()));
        services.TryAddSingleton(sp => new BatchSubmitter(
            sp.GetRequiredService<BatchStore>(), sp.GetRequiredService<IBatchQueue>(), sp.GetRequiredService<BatchOptions>()));
        services.TryAddSingleton<FilesHandler>();
        services.TryAddSingleton<BatchesHandler>();
        return services;
    }

    private static Uri ServiceUri(IConfiguration configuration, string setting, string service)
    {
        var value = ModelCacheServiceCollectionExtensions.Setting(configuration, setting);
        return Uri.TryCreate(value, UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException($"Batch generation needs {setting} (https://<account>.{service}.core.windows.net); it is '{value}'.");
    }
}
