using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Qwen.Serving.Http;

/// <summary>Registers the OpenAI-compatible API shared by both hosts.</summary>
public static class HttpApiServiceCollectionExtensions
{
    /// <summary>Adds the handlers, options (section <c>Qwen:Serving</c>), key check, metrics and chat template. The host adds an <see cref="IGenerationEngineProvider"/>.</summary>
    public static IServiceCollection AddQwenHttpApi(this IServiceCollection services, IConfiguration configuration)
    {
        // ValidateOnStart: a bad key (short, or an unresolved Key Vault reference) stops the host at start-up.
        services.AddOptions<HttpApiOptions>().Bind(configuration.GetSection(HttpApiOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpApiOptions>, ApiKeyRules>());
        services.TryAddSingleton<IServingMetrics, ServingMetrics>();
        services.TryAddSingleton<IChatTemplate, QwenChatTemplate>();
        services.TryAddSingleton<ApiKeyAuthorizer>();
        services.TryAddSingleton<ApiRequestRunner>();
        services.TryAddSingleton<ChoiceGenerator>();
        services.TryAddSingleton<ChatCompletionsHandler>();
        services.TryAddSingleton<CompletionsHandler>();
        services.TryAddSingleton<ModelsHandler>();
        services.TryAddSingleton<TokenizerHandler>();
        services.TryAddSingleton<HealthHandler>();
        return services;
    }
}
