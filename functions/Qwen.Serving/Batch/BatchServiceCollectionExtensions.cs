using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Qwen.Serving.Http;
using Qwen.Serving.Orchestrations;
using Qwen.Serving.Configuration;
using Qwen.Serving.ModelCache;

namespace Qwen.Serving.Batch;

/// <summary>Registers queue-driven batch generation from the <c>Qwen__Batch__*</c> and <c>QwenStorage__*</c> app settings.</summary>
public static class BatchServiceCollectionExtensions
{
    /// <summary>Adds <see cref="BatchProcessor"/> and <see cref="BatchPoisonProcessor"/> over the batches container, reached with the managed identity (<c>QwenStorage__blobServiceUri</c>).</summary>
    /// <remarks>Needs an <see cref="Orchestrations.IChatTurnModel"/> (added by <c>AddQwenOrchestrations</c>) unless an <see cref="IBatchRequestHandler"/> is registered.</remarks>
    public static IServiceCollection AddQwenBatch(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new BatchOptions();
        var queue = ModelCacheServiceCollectionExtensions.Setting(configuration, AppSettingNames.BatchQueueName);
        if (!string.IsNullOrWhiteSpace(queue))
        {
            options.QueueName = queue;
        }
        var container = ModelCacheServiceCollectionExtensions.Setting(configuration, AppSettingNames.BatchContainerName);
        if (!string.IsNullOrWhiteSpace(container))
        {
            options.ContainerName = container;
        }
        var blobServiceUri = ModelCacheServiceCollectionExtensions.Setting(configuration, AppSettingNames.StorageBlobServiceUri);
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        // The online endpoint's handler when the host has the HTTP API (identical behaviour); else the compact mapping.
        services.TryAddSingleton<IBatchRequestHandler>(sp => sp.GetService<OpenAiHandlers>() is { } handlers
            ? new OpenAiHandlersBatchRequestHandler(handlers, sp.GetRequiredService<IOptions<HttpApiOptions>>())
            : new ChatCompletionsBatchHandler(sp.GetRequiredService<IChatTurnModel>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddKeyedSingleton(BatchContainerKey, (sp, _) =>
        {
            if (string.IsNullOrWhiteSpace(blobServiceUri) || !Uri.TryCreate(blobServiceUri, UriKind.Absolute, out var uri))
            {
                throw new InvalidOperationException(
                    $"Batch generation needs {AppSettingNames.StorageBlobServiceUri} (https://<account>.blob.core.windows.net); it is '{blobServiceUri}'.");
            }
            var client = new BlobServiceClient(uri, ModelCacheServiceCollectionExtensions.CreateCredential(configuration));
            return client.GetBlobContainerClient(options.ContainerName);
        });
        services.TryAddSingleton(sp => new BatchProcessor(
            sp.GetRequiredKeyedService<BlobContainerClient>(BatchContainerKey),
            sp.GetRequiredService<IBatchRequestHandler>(),
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<BatchProcessor>>()));
        services.TryAddSingleton(sp => new BatchPoisonProcessor(
            sp.GetRequiredService<BatchProcessor>(),
            sp.GetRequiredKeyedService<BlobContainerClient>(BatchContainerKey),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<BatchPoisonProcessor>>()));
        return services;
    }

    /// <summary>DI key of the batches <see cref="BlobContainerClient"/>.</summary>
    public const string BatchContainerKey = "qwen-batches";
}
