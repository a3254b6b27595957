using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Qwen.Serving.Configuration;

namespace Qwen.Serving.ModelCache;

/// <summary>Registers <see cref="BlobModelCache"/> from the <c>Qwen__Model__*</c> app settings.</summary>
public static class ModelCacheServiceCollectionExtensions
{
    /// <summary>Adds the Blob model cache when <c>Qwen__Model__BlobContainerUri</c> is set; authenticates with <see cref="DefaultAzureCredential"/> (managed identity, <c>AZURE_CLIENT_ID</c>).</summary>
    public static IServiceCollection AddQwenModelCache(this IServiceCollection services, IConfiguration configuration)
    {
        var options = ReadOptions(configuration);
        if (options.BlobContainerUri is null)
        {
            return services; // standalone: the package is a local directory (Qwen__Model__PackagePath)
        }
        services.TryAddSingleton(options);
        services.TryAddSingleton(sp =>
        {
            var container = new BlobContainerClient(options.BlobContainerUri, CreateCredential(configuration));
            return new BlobModelCache(container, options, sp.GetRequiredService<ILogger<BlobModelCache>>());
        });
        return services;
    }

    /// <summary>Reads <see cref="ModelCacheOptions"/> from the app settings named in <see cref="AppSettingNames"/>.</summary>
    public static ModelCacheOptions ReadOptions(IConfiguration configuration)
    {
        var options = new ModelCacheOptions();
        var uri = Setting(configuration, AppSettingNames.ModelBlobContainerUri);
        if (!string.IsNullOrWhiteSpace(uri))
        {
            options.BlobContainerUri = Uri.TryCreate(uri, UriKind.Absolute, out var parsed)
                ? parsed
                : throw new InvalidOperationException($"{AppSettingNames.ModelBlobContainerUri} '{uri}' is not an absolute URI (https://<account>.blob.core.windows.net/models).");
        }
        options.Name = Setting(configuration, AppSettingNames.ModelName) ?? "";
        options.Version = Setting(configuration, AppSettingNames.ModelVersion) ?? "";
        var dir = Setting(configuration, AppSettingNames.ModelCacheDirectory);
        if (!string.IsNullOrWhiteSpace(dir))
        {
            options.CacheDirectory = dir;
        }
        return options;
    }

    /// <summary>The credential every storage client uses: the user-assigned identity named by <c>AZURE_CLIENT_ID</c> when set.</summary>
    public static DefaultAzureCredential CreateCredential(IConfiguration configuration)
    {
        var clientId = configuration[AppSettingNames.AzureClientId];
        return new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = string.IsNullOrWhiteSpace(clientId) ? null : clientId,
        });
    }

    // App settings use "__" as the section separator; IConfiguration exposes them as ":" keys.
    internal static string? Setting(IConfiguration configuration, string appSettingName)
        => configuration[appSettingName.Replace("__", ":", StringComparison.Ordinal)] ?? configuration[appSettingName];
}
