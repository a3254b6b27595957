using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Qwen.Serving.Http;

/// <summary>Maps the API's routes onto the handlers (<see cref="ChatCompletionsHandler"/>, <see cref="CompletionsHandler"/>, <see cref="ModelsHandler"/>, <see cref="TokenizerHandler"/>, <see cref="HealthHandler"/>) for an ASP.NET Core host (the Functions app maps the same routes with [Function]s).</summary>
public static class HttpApiEndpointRouteBuilderExtensions
{
    /// <summary>Maps every route of the OpenAI-compatible API.</summary>
    public static IEndpointRouteBuilder MapQwenHttpApi(this IEndpointRouteBuilder endpoints)
    {
        static T H<T>(HttpContext c) where T : notnull => c.RequestServices.GetRequiredService<T>();
        endpoints.MapPost(HttpApiRoutes.ChatCompletions, c => H<ChatCompletionsHandler>(c).ChatCompletionsAsync(c));
        endpoints.MapPost(HttpApiRoutes.AzureChatCompletions, c => H<ChatCompletionsHandler>(c).AzureChatCompletionsAsync(c, (string)c.GetRouteValue("deployment")!));
        endpoints.MapPost(HttpApiRoutes.Completions, c => H<CompletionsHandler>(c).CompletionsAsync(c));
        endpoints.MapGet(HttpApiRoutes.Models, c => H<ModelsHandler>(c).ModelsAsync(c));
        endpoints.MapGet(HttpApiRoutes.Model, c => H<ModelsHandler>(c).ModelAsync(c, (string)c.GetRouteValue("model")!));
        endpoints.MapPost(HttpApiRoutes.Tokenize, c => H<TokenizerHandler>(c).TokenizeAsync(c));
        endpoints.MapPost(HttpApiRoutes.Detokenize, c => H<TokenizerHandler>(c).DetokenizeAsync(c));
        endpoints.MapPost(HttpApiRoutes.ApplyTemplate, c => H<TokenizerHandler>(c).ApplyTemplateAsync(c));
        endpoints.MapGet(HttpApiRoutes.Health, c => H<HealthHandler>(c).HealthAsync(c));
        endpoints.MapGet(HttpApiRoutes.Ready, c => H<HealthHandler>(c).ReadyAsync(c));
        endpoints.MapGet(HttpApiRoutes.Metrics, c => H<HealthHandler>(c).MetricsAsync(c));
        return endpoints;
    }
}
