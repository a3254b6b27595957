using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Serving.Http;

namespace Qwen.Functions.Http;

/// <summary>Registers what the HTTP functions need: the shared API and the lazily loaded engine.</summary>
public static class HttpFunctionsServiceCollectionExtensions
{
    /// <summary>Adds <c>AddQwenHttpApi</c> and <c>AddQwenEngineProvider</c>; the key check never trusts loopback here (the Functions host proxies every request over loopback).</summary>
    public static IServiceCollection AddQwenHttpFunctions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddQwenHttpApi(configuration).AddQwenEngineProvider(configuration);
        services.Configure<HttpApiOptions>(o => o.AllowLoopbackWithoutKey = false);
        return services;
    }
}
