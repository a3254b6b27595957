using Microsoft.DurableTask;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Qwen.Serving.Configuration;
using Qwen.Serving.Http;
using Qwen.Serving.ModelCache;
using Qwen.Serving.Tools;

namespace Qwen.Serving.Orchestrations;

/// <summary>Registers the chat-session and ReAct orchestrations' services: the turn model (local or remote), tools, activities, HTTP starters.</summary>
public static class OrchestrationServiceCollectionExtensions
{
    /// <summary>Adds everything the orchestrations and their activities need. With <c>Qwen__Worker__BaseUri</c> set, turns go to the GPU worker over one shared <see cref="HttpClient"/>; otherwise they run on the local <see cref="Inference.Generation.IGenerationEngine"/>.</summary>
    public static IServiceCollection AddQwenOrchestrations(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new OrchestrationOptions();
        var worker = ModelCacheServiceCollectionExtensions.Setting(configuration, AppSettingNames.WorkerBaseUri);
        if (!string.IsNullOrWhiteSpace(worker))
        {
            options.WorkerBaseUri = Uri.TryCreate(worker.EndsWith('/') ? worker : worker + "/", UriKind.Absolute, out var uri)
                ? uri
                : throw new InvalidOperationException($"{AppSettingNames.WorkerBaseUri} '{worker}' is not an absolute URI (https://<worker-app>.azurewebsites.net/).");
        }
        // The worker accepts only the service credential, never the clients' key (which the API app checks itself).
        options.ApiKey = ModelCacheServiceCollectionExtensions.Setting(configuration, AppSettingNames.WorkerApiKey);
        if (ModelCacheServiceCollectionExtensions.Setting(configuration, AppSettingNames.OrchestrationRetentionDays) is { Length: > 0 } days)
        {
            options.Retention = double.TryParse(days, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) && d > 0
                ? TimeSpan.FromDays(d)
                : throw new InvalidOperationException($"{AppSettingNames.OrchestrationRetentionDays} is '{days}'; use a positive number of days (for example 7).");
        }
        // The starters check the same key as the OpenAI endpoints; binding twice (AddQwenHttpApi does too) is harmless.
        services.AddOptions<HttpApiOptions>().Bind(configuration.GetSection(HttpApiOptions.SectionName));
        return services.AddQwenOrchestrations(options);
    }

    /// <summary>Adds the orchestration services with explicit options (tests, standalone host).</summary>
    public static IServiceCollection AddQwenOrchestrations(this IServiceCollection services, OrchestrationOptions options)
    {
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions();
        services.TryAddSingleton<ApiKeyAuthorizer>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITool, CalculatorTool>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITool, UtcClockTool>());
        services.TryAddSingleton<ToolRegistry>();
        if (options.WorkerBaseUri is not null)
        {
            services.AddHttpClient<IChatTurnModel, HttpChatTurnModel>(client =>
            {
                client.BaseAddress = options.WorkerBaseUri;
                client.Timeout = options.WorkerTimeout;
                if (!string.IsNullOrEmpty(options.ApiKey))
                {
                    client.DefaultRequestHeaders.Add(HttpChatTurnModel.ApiKeyHeader, options.ApiKey);
                }
            });
        }
        else
        {
            services.TryAddSingleton<IChatTurnModel, EngineChatTurnModel>();
        }
        services.TryAddTransient<GenerateTurnActivity>();
        services.TryAddTransient<CallToolActivity>();
        services.TryAddTransient<ListToolsActivity>();
        services.TryAddSingleton<ChatTurnEndpoint>();
        services.TryAddSingleton<DurableHttpApi>();
        return services;
    }

    /// <summary>Registers the orchestrators and activities with a Durable Task worker (standalone and tests; the Functions app uses its [Function] adapters).</summary>
    public static DurableTaskRegistry AddQwenOrchestrations(this DurableTaskRegistry registry)
    {
        registry.AddOrchestrator<ChatSessionOrchestration>();
        registry.AddOrchestrator<ReActAgentOrchestration>();
        registry.AddActivity<GenerateTurnActivity>();
        registry.AddActivity<CallToolActivity>();
        registry.AddActivity<ListToolsActivity>();
        return registry;
    }
}
