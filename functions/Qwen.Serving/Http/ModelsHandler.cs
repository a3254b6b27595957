using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Qwen.Inference.Generation;

namespace Qwen.Serving.Http;

/// <summary>GET /v1/models and /v1/models/{model}: the one served model.</summary>
/// <remarks>Thread-safe singleton.</remarks>
public sealed class ModelsHandler(IGenerationEngineProvider engines, ApiRequestRunner runner)
{
    /// <summary>GET /v1/models.</summary>
    public Task ModelsAsync(HttpContext context) => runner.RunAsync(context, "models", true, async () =>
    {
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        await OpenAiJson.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            WriteModel(w, engine);
            w.WriteEndArray();
            w.WriteEndObject();
        }).ConfigureAwait(false);
    });

    /// <summary>GET /v1/models/{model}.</summary>
    public Task ModelAsync(HttpContext context, string model) => runner.RunAsync(context, "models", true, async () =>
    {
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        runner.CheckModel(engine, model);
        await OpenAiJson.WriteAsync(context, 200, w => WriteModel(w, engine)).ConfigureAwait(false);
    });

    private void WriteModel(Utf8JsonWriter w, IGenerationEngine engine)
    {
        w.WriteStartObject();
        w.WriteString("id", runner.ServedModel(engine));
        w.WriteString("object", "model");
        w.WriteNumber("created", 1_690_848_000); // Qwen-7B's release, 2023-08-01: a stable value rather than the start time.
        w.WriteString("owned_by", "qwen");
        w.WriteNumber("context_length", engine.ContextLength);
        w.WriteEndObject();
    }
}
