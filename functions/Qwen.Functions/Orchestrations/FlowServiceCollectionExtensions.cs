using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Serving.Batch;
using Qwen.Serving.ModelCache;
using Qwen.Serving.Orchestrations;

namespace Qwen.Functions.Orchestrations;

/// <summary>Registers the Azure-side plumbing of the Functions app: model cache, orchestrations (and their turn model), batch generation.</summary>
public static class FlowServiceCollectionExtensions
{
    /// <summary>Adds <c>AddQwenModelCache</c>, <c>AddQwenOrchestrations</c> and <c>AddQwenBatch</c> from the app settings.</summary>
    public static IServiceCollection AddQwenFlow(this IServiceCollection services, IConfiguration configuration)
        => services
            .AddQwenModelCache(configuration)
            .AddQwenOrchestrations(configuration)
            .AddQwenBatch(configuration);
}
