using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Functions.Http;
using Qwen.Functions.Orchestrations;
using Qwen.Serving.Forwarding;
using Qwen.Serving.Http;

namespace Qwen.Functions;

/// <summary>Everything <c>Program.cs</c> registers, in one place so tests build the app exactly as deployed.</summary>
/// <remarks>
/// The same build runs in two roles, chosen by configuration. <b>api</b> (<c>Qwen__Worker__BaseUri</c> set): no model; the HTTP
/// functions forward to the GPU worker, orchestrations run their turns there, batch work is enqueued. <b>worker</b> (no worker
/// address): the model loads from the Blob cache when the host starts, and the functions serve it.
/// </remarks>
public static class QwenFunctionsServiceCollectionExtensions
{
    /// <summary>Registers the Functions app's services for the role its configuration selects.</summary>
    public static IServiceCollection AddQwenFunctionsApp(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddQwenFlow(configuration);
        services.AddQwenHttpFunctions(configuration);
        if (!WorkerForwardingServiceCollectionExtensions.HasWorker(configuration))
        {
            // Worker role: load at start so /ready (the Container Apps probes) tells the truth and no client waits on a cold load
            // it could cancel. A failed download is retried by the next request rather than stopping the host.
            services.AddQwenEngineWarmup(stopHostOnFailure: false);
        }
        return services;
    }
}
