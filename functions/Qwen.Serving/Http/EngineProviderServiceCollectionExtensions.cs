using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Qwen.Inference.Scheduling;
using Qwen.Serving.ModelCache;

namespace Qwen.Serving.Http;

/// <summary>Registers the lazily loaded engine of the Functions app: from the Blob model cache when configured, else from a local package directory.</summary>
public static class EngineProviderServiceCollectionExtensions
{
    /// <summary>Adds <see cref="EngineMetrics"/> and an <see cref="IGenerationEngineProvider"/> that loads on first use (the first request, or /ready stays 503 until then).</summary>
    public static IServiceCollection AddQwenEngineProvider(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton<EngineMetrics>();
        services.TryAddSingleton<IGenerationEngineProvider>(sp => new GenerationEngineProvider(async ct =>
        {
            var metrics = sp.GetRequiredService<EngineMetrics>();
            var logger = sp.GetService<ILoggerFactory>()?.CreateLogger(typeof(EngineLoader));
            var cache = sp.GetService<BlobModelCache>();
            if (cache is null)
            {
                return await EngineLoader.LoadAsync(configuration, metrics, ct, logger).ConfigureAwait(false);
            }
            var package = await cache.EnsureAsync(ct).ConfigureAwait(false);
            return await EngineLoader.LoadAsync(configuration, package.PackageDirectory, metrics, ct, logger).ConfigureAwait(false);
        }));
        return services;
    }
}
