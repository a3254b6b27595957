using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Serving.Http;

namespace Qwen.Serving.Forwarding;

/// <summary>Maps the front's routes for an ASP.NET Core host: every OpenAI-style route goes to the worker; /health and /metrics are the front's own.</summary>
public static class WorkerFrontEndpointRouteBuilderExtensions
{
    /// <summary>Maps <c>/v1/*</c> and <c>/openai/*</c> as a whole (new routes of the worker need no change here), the llama.cpp-style
    /// routes, and /ready (the worker's readiness, no key); /health and /metrics answer locally.</summary>
    public static IEndpointRouteBuilder MapQwenWorkerFront(this IEndpointRouteBuilder endpoints)
    {
        static WorkerForwarder F(HttpContext c) => c.RequestServices.GetRequiredService<WorkerForwarder>();
        endpoints.Map("v1/{**path}", c => F(c).ForwardAsync(c, "forward_v1"));
        endpoints.Map("openai/{**path}", c => F(c).ForwardAsync(c, "forward_openai"));
        endpoints.MapPost(HttpApiRoutes.Tokenize, c => F(c).ForwardAsync(c, "forward_tokenize"));
        endpoints.MapPost(HttpApiRoutes.Detokenize, c => F(c).ForwardAsync(c, "forward_detokenize"));
        endpoints.MapPost(HttpApiRoutes.ApplyTemplate, c => F(c).ForwardAsync(c, "forward_apply_template"));
        endpoints.MapGet(HttpApiRoutes.Ready, c => F(c).ForwardAsync(c, "ready", authorize: false));
        endpoints.MapGet(HttpApiRoutes.Health, c => OpenAiJson.WriteAsync(c, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("status", "ok");
            w.WriteString("role", "front");
            w.WriteEndObject();
        }));
        endpoints.MapGet(HttpApiRoutes.Metrics, MetricsAsync);
        return endpoints;
    }

    private static async Task MetricsAsync(HttpContext context)
    {
        try
        {
            context.RequestServices.GetRequiredService<ApiKeyAuthorizer>().Authorize(context);
        }
        catch (OpenAiException refused)
        {
            var error = OpenAiJson.Error(refused);
            context.Response.StatusCode = refused.StatusCode;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(error, context.RequestAborted).ConfigureAwait(false);
            return;
        }
        var text = System.Text.Encoding.UTF8.GetBytes(context.RequestServices.GetRequiredService<IServingMetrics>().ToPrometheusText());
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        context.Response.ContentLength = text.Length;
        await context.Response.Body.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }
}
