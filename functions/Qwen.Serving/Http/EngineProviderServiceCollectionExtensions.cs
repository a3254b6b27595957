using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Qwen.Inference.Scheduling;
using Qwen.Serving.ModelCache;

namespace Qwen.Serving.Http;

/// <summary>Registers the lazily loaded engine of the Functions app: from the Blob model cache when configured, else from a local package directory.</summary>
public static class EngineProviderServiceCollectionExtensions
{
    /// <summary>Adds <see cref="EngineMetrics"/> and an <see cref="IGenerationEngineProvider"/> whose one load runs on the host's lifetime
    /// (started by <see cref="AddQwenEngineWarmup"/> at host start, or by the first request without it).</summary>
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
        }, Stopping(sp)));
        return services;
    }

    /// <summary>Adds <see cref="EngineWarmupService"/>: the model loads when the host starts, and /ready is 503 until it has.</summary>
    public static IServiceCollection AddQwenEngineWarmup(this IServiceCollection services, bool stopHostOnFailure)
    {
        services.TryAddSingleton(new EngineWarmupOptions { StopHostOnFailure = stopHostOnFailure });
        services.AddHostedService<EngineWarmupService>();
        return services;
    }

    /// <summary>The host's stopping token: the only thing (besides disposal) that cancels a model load.</summary>
    public static CancellationToken Stopping(IServiceProvider services) =>
        services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
}
