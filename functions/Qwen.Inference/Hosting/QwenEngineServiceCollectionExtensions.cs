using Microsoft.Extensions.AI;
using Qwen.Inference.ChatClient;
using Qwen.Inference.Generation;
using Qwen.Inference.Hosting;
using Qwen.Inference.Scheduling;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Qwen engine (<see cref="IGenerationEngine"/>), its <see cref="EngineMetrics"/> and an <see cref="IChatClient"/> over it.</summary>
public static class QwenEngineServiceCollectionExtensions
{
    /// <summary>Registers the engine for the package and settings from <paramref name="configure"/>, and an <see cref="IChatClient"/> over it.</summary>
    /// <remarks>
    /// The engine (the batching <see cref="QwenScheduler"/>, on every execution provider) loads on first resolve (a singleton, disposed with the container).
    /// The chat client is registered as a plain singleton so this project needs only Microsoft.Extensions.AI.Abstractions; a host
    /// that wants middleware calls <c>AddChatClient(sp =&gt; new QwenChatClient(sp.GetRequiredService&lt;IGenerationEngine&gt;())).UseLogging()</c> instead.
    /// </remarks>
    public static IServiceCollection AddQwenEngine(this IServiceCollection services, Action<QwenEngineOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddQwenEngine(_ =>
        {
            var options = new QwenEngineOptions();
            configure(options);
            return options;
        });
    }

    /// <summary>Registers the engine with settings computed from the container (for example a package directory the model cache resolved).</summary>
    public static IServiceCollection AddQwenEngine(this IServiceCollection services, Func<IServiceProvider, QwenEngineOptions> options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.AddSingleton<EngineMetrics>();
        services.AddSingleton<IGenerationEngine>(provider => CreateEngine(options(provider), provider.GetRequiredService<EngineMetrics>()));
        services.AddSingleton<IChatClient>(provider => new QwenChatClient(provider.GetRequiredService<IGenerationEngine>(), options(provider).ChatClient));
        return services;
    }

    /// <summary>Loads the engine <paramref name="options"/> asks for.</summary>
    /// <exception cref="ArgumentException">No package directory was set.</exception>
    public static IGenerationEngine CreateEngine(QwenEngineOptions options, EngineMetrics metrics)
    {
        if (string.IsNullOrWhiteSpace(options.PackageDirectory))
        {
            throw new ArgumentException("QwenEngineOptions.PackageDirectory is empty; set it to a model package directory (holding qwen-model.json).", nameof(options));
        }
        // One engine for every execution provider: the provider only decides where the session and the KV cache live.
        return QwenScheduler.Load(options.PackageDirectory, new QwenSchedulerOptions { Runtime = options.Runtime, Scheduling = options.Scheduling }, metrics);
    }
}
