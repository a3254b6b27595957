using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Qwen.Serving.Http;

/// <summary>The llama.cpp-style tokenizer routes: /tokenize, /detokenize and /apply-template.</summary>
/// <remarks>Thread-safe singleton.</remarks>
public sealed class TokenizerHandler(IGenerationEngineProvider engines, IChatTemplate template, ApiRequestRunner runner)
{
    /// <summary>POST /tokenize (llama.cpp): <c>{"content","add_special","parse_special","with_pieces"}</c> → <c>{"tokens"}</c>.</summary>
    public Task TokenizeAsync(HttpContext context) => runner.RunAsync(context, "tokenize", true, async () =>
    {
        using var doc = await runner.ReadJsonAsync(context).ConfigureAwait(false);
        var root = doc.RootElement;
        var content = OpenAiRequestReader.OptString(root, "content") ?? throw OpenAiException.Invalid("content", "'content' is required: the text to tokenize.");
        // Qwen has no BOS token, so add_special adds nothing; it is read only to reject a wrong type.
        _ = OpenAiRequestReader.OptBool(root, "add_special");
        var parseSpecial = OpenAiRequestReader.OptBool(root, "parse_special") ?? false;
        var withPieces = OpenAiRequestReader.OptBool(root, "with_pieces") ?? false;
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        var tokens = engine.Tokenizer.Encode(content, parseSpecial);
        await OpenAiJson.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("tokens");
            foreach (var t in tokens)
            {
                if (withPieces)
                {
                    w.WriteStartObject();
                    w.WriteNumber("id", t);
                    w.WriteString("piece", engine.Tokenizer.Decode([t]));
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteNumberValue(t);
                }
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }).ConfigureAwait(false);
    });

    /// <summary>POST /detokenize (llama.cpp): <c>{"tokens"}</c> → <c>{"content"}</c>.</summary>
    public Task DetokenizeAsync(HttpContext context) => runner.RunAsync(context, "detokenize", true, async () =>
    {
        using var doc = await runner.ReadJsonAsync(context).ConfigureAwait(false);
        if (!doc.RootElement.TryGetProperty("tokens", out var t) || t.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiException.Invalid("tokens", "'tokens' is required: an array of token ids.");
        }
        var ids = new List<int>();
        foreach (var item in t.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id))
            {
                throw OpenAiException.Invalid("tokens", "'tokens' must hold integer token ids.");
            }
            ids.Add(id);
        }
        OpenAiWriters.CheckTokenIds(ids, "tokens");
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        var text = engine.Tokenizer.Decode(ids);
        await OpenAiJson.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("content", text);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    });

    /// <summary>POST /apply-template (llama.cpp): a chat request → <c>{"prompt","tokens"}</c>, exactly what the model would see.</summary>
    public Task ApplyTemplateAsync(HttpContext context) => runner.RunAsync(context, "apply_template", true, async () =>
    {
        using var doc = await runner.ReadJsonAsync(context).ConfigureAwait(false);
        var request = OpenAiRequestReader.ReadChat(doc.RootElement, runner.Options.MaxChoices);
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        var prompt = template.Render(engine.Tokenizer, request.Messages, request.Tools, request.Stop);
        var text = engine.Tokenizer.Decode(prompt.Tokens);
        await OpenAiJson.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("prompt", text);
            w.WriteStartArray("tokens");
            foreach (var id in prompt.Tokens)
            {
                w.WriteNumberValue(id);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }).ConfigureAwait(false);
    });
}
