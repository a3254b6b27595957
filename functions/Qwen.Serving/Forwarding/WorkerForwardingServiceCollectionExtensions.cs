using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Qwen.Serving.Http;

namespace Qwen.Serving.Forwarding;

/// <summary>Registers the front's forwarder (YARP <c>IHttpForwarder</c>) and its options from <c>Qwen:Worker</c>.</summary>
public static class WorkerForwardingServiceCollectionExtensions
{
    /// <summary>Adds <see cref="WorkerForwarder"/> and <see cref="ForwardingMetrics"/>; the forwarder is enabled only when <c>Qwen:Worker:BaseUri</c> is set.</summary>
    public static IServiceCollection AddQwenWorkerForwarding(this IServiceCollection services, IConfiguration configuration)
    {
        // ValidateOnStart: a front with a missing, short or unresolved service credential stops at start-up.
        services.AddOptions<WorkerForwardingOptions>().Bind(configuration.GetSection(WorkerForwardingOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerForwardingOptions>, WorkerForwardingOptionsRules>());
        services.AddQwenHttpApi(configuration);
        services.AddHttpForwarder();
        services.TryAddSingleton<ForwardingMetrics>();
        services.TryAddSingleton<WorkerForwarder>();
        return services;
    }

    /// <summary>True when <c>Qwen:Worker:BaseUri</c> (app setting <c>Qwen__Worker__BaseUri</c>) names a worker: the host is a front.</summary>
    public static bool HasWorker(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[WorkerForwardingOptions.SectionName + ":BaseUri"]);
}
