using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Qwen.Serving.Http;

/// <summary>Maps the API's routes onto <see cref="OpenAiHandlers"/> for an ASP.NET Core host (the Functions app maps the same routes with [Function]s).</summary>
public static class HttpApiEndpointRouteBuilderExtensions
{
    /// <summary>Maps every route of the OpenAI-compatible API.</summary>
    public static IEndpointRouteBuilder MapQwenHttpApi(this IEndpointRouteBuilder endpoints)
    {
        OpenAiHandlers H(HttpContext c) => c.RequestServices.GetRequiredService<OpenAiHandlers>();
        endpoints.MapPost(HttpApiRoutes.ChatCompletions, c => H(c).ChatCompletionsAsync(c));
        endpoints.MapPost(HttpApiRoutes.AzureChatCompletions, c => H(c).AzureChatCompletionsAsync(c, (string)c.GetRouteValue("deployment")!));
        endpoints.MapPost(HttpApiRoutes.Completions, c => H(c).CompletionsAsync(c));
        endpoints.MapGet(HttpApiRoutes.Models, c => H(c).ModelsAsync(c));
        endpoints.MapGet(HttpApiRoutes.Model, c => H(c).ModelAsync(c, (string)c.GetRouteValue("model")!));
        endpoints.MapPost(HttpApiRoutes.Tokenize, c => H(c).TokenizeAsync(c));
        endpoints.MapPost(HttpApiRoutes.Detokenize, c => H(c).DetokenizeAsync(c));
        endpoints.MapPost(HttpApiRoutes.ApplyTemplate, c => H(c).ApplyTemplateAsync(c));
        endpoints.MapGet(HttpApiRoutes.Health, c => H(c).HealthAsync(c));
        endpoints.MapGet(HttpApiRoutes.Ready, c => H(c).ReadyAsync(c));
        endpoints.MapGet(HttpApiRoutes.Metrics, c => H(c).MetricsAsync(c));
        return endpoints;
    }
}
