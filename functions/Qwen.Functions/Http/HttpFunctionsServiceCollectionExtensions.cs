using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Serving.Forwarding;
using Qwen.Serving.Http;

namespace Qwen.Functions.Http;

/// <summary>Registers what the HTTP functions need: the shared API, the lazily loaded engine and the worker forwarder.</summary>
public static class HttpFunctionsServiceCollectionExtensions
{
    /// <summary>Adds <c>AddQwenHttpApi</c>, <c>AddQwenEngineProvider</c> and <c>AddQwenWorkerForwarding</c> (enabled in the API role,
    /// when <c>Qwen__Worker__BaseUri</c> is set); the key check never trusts loopback here (the Functions host proxies every request over loopback).</summary>
    public static IServiceCollection AddQwenHttpFunctions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddQwenHttpApi(configuration).AddQwenEngineProvider(configuration).AddQwenWorkerForwarding(configuration);
        services.Configure<HttpApiOptions>(o => o.AllowLoopbackWithoutKey = false);
        return services;
    }
}
