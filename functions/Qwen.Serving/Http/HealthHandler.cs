using System.Text;
using Microsoft.AspNetCore.Http;

namespace Qwen.Serving.Http;

/// <summary>GET /health, /ready and /metrics: the probes and the Prometheus text.</summary>
/// <remarks>Thread-safe singleton.</remarks>
public sealed class HealthHandler(IGenerationEngineProvider engines, ApiRequestRunner runner, IServingMetrics metrics)
{
    /// <summary>GET /health: the process is up (no key needed).</summary>
    public Task HealthAsync(HttpContext context) => runner.RunAsync(context, "health", false, () =>
        OpenAiJson.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("status", "ok");
            w.WriteEndObject();
        }));

    /// <summary>GET /ready: 200 once the model is loaded, else 503 (no key needed).</summary>
    public Task ReadyAsync(HttpContext context) => runner.RunAsync(context, "ready", false, () =>
    {
        var engine = engines.Loaded;
        return OpenAiJson.WriteAsync(context, engine is null ? 503 : 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("status", engine is null ? "loading" : "ready");
            if (engine is not null)
            {
                w.WriteString("model", runner.ServedModel(engine));
            }
            w.WriteEndObject();
        });
    });

    /// <summary>GET /metrics: Prometheus text.</summary>
    public Task MetricsAsync(HttpContext context) => runner.RunAsync(context, "metrics", true, async () =>
    {
        var bytes = Encoding.UTF8.GetBytes(metrics.ToPrometheusText());
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    });
}
