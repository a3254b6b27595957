using Microsoft.AspNetCore.Http;
using Qwen.Inference.Generation;
using Qwen.Inference.Scoring;
using Qwen.Inference.Tokenization;

namespace Qwen.Serving.Http;

/// <summary>POST /v1/completions: raw-format completion for the base model, prompt as text or token ids, with echo and prompt log-probabilities.</summary>
/// <remarks>Thread-safe singleton, mapped by both hosts and called by batch lines.</remarks>
public sealed class CompletionsHandler(IGenerationEngineProvider engines, ApiRequestRunner runner, ChoiceGenerator generator)
{
    /// <summary>POST /v1/completions: raw-format completion for the base model; prompt as text or token ids.</summary>
    public Task CompletionsAsync(HttpContext context) => runner.RunAsync(context, "completions", true, async () =>
    {
        using var doc = await runner.ReadJsonAsync(context).ConfigureAwait(false);
        var request = OpenAiRequestReader.ReadCompletion(doc.RootElement, runner.Options.MaxChoices);
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        var model = runner.CheckModel(engine, request.Model);
        var tokenizer = engine.Tokenizer;
        IReadOnlyList<int> prompt;
        if (request.PromptTokens is { } ids)
        {
            OpenAiWriters.CheckTokenIds(ids, "prompt");
            prompt = ids;
        }
        else
        {
            // Raw format (spec §5.1): the text only, specials as plain text so a client cannot inject control tokens.
            prompt = tokenizer.Encode(request.PromptText!);
            if (prompt.Count == 0)
            {
                throw OpenAiException.Invalid("prompt", "'prompt' is empty.");
            }
        }
        var echo = request.Echo ? (request.PromptText ?? tokenizer.Decode(prompt)) : "";
        var id = OpenAiWriters.NewId("cmpl-");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        IReadOnlyList<PromptTokenScore>? promptScores = null;
        if (request.Echo && request.Logprobs && !request.Stream)
        {
            // Prompt log-probabilities (OpenAI legacy echo, vLLM, lm-evaluation-harness log-likelihood).
            var scorer = engine as IPromptScorer ?? throw new OpenAiException(400,
                "This engine cannot return prompt log-probabilities (echo with logprobs).", "invalid_request_error", "echo", "unsupported_parameter");
            promptScores = await scorer.ScorePromptAsync(prompt, request.TopLogprobs, context.RequestAborted).ConfigureAwait(false);
        }
        GenerationResult[] results;
        if (request.MaxTokens == 0)
        {
            // Scoring only: nothing is generated (the reader allows 0 only with echo and without stream).
            results = Enumerable.Range(0, request.N)
                .Select(_ => new GenerationResult("", [], FinishReason.Length, new GenerationUsage(prompt.Count, 0, 0, TimeSpan.Zero)))
                .ToArray();
        }
        else
        {
            var constraint = ChoiceGenerator.Compile(request.ResponseGrammar, tokenizer, "response_format");
            var requests = ChoiceGenerator.BuildRequests(engine, request, prompt, request.Stop, CallerIdentity.CacheScope(context, request.User), constraint);
            if (request.Stream)
            {
                await StreamCompletionAsync(context, engine, request, requests, id, created, model, echo).ConfigureAwait(false);
                return;
            }
            results = await generator.GenerateAllAsync(engine, requests, context.RequestAborted).ConfigureAwait(false);
        }
        await OpenAiJson.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "text_completion");
            w.WriteNumber("created", created);
            w.WriteString("model", model);
            w.WriteStartArray("choices");
            for (var i = 0; i < results.Length; i++)
            {
                w.WriteStartObject();
                w.WriteString("text", echo + results[i].Text);
                w.WriteNumber("index", i);
                if (request.Logprobs)
                {
                    OpenAiWriters.WriteLegacyLogprobs(w, tokenizer, promptScores, results[i].Tokens, echo.Length);
                }
                else
                {
                    w.WriteNull("logprobs");
                }
                w.WriteString("finish_reason", results[i].FinishReason == FinishReason.Length ? "length" : "stop");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            OpenAiWriters.WriteUsage(w, prompt.Count, results);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    });

    private async Task StreamCompletionAsync(
        HttpContext context, IGenerationEngine engine, ChatCompletionRequest request,
        GenerationRequest[] requests, string id, long created, string model, string echo)
    {
        var chunks = new ChunkFactory(id, created, model, request.IncludeUsage, "text_completion");
        // The first update comes before any byte is sent, so a busy engine or an over-long prompt still gets a proper 4xx.
        await using var run = await generator.StartAsync(engine, requests, context.RequestAborted).ConfigureAwait(false);
        var sse = await SseWriter.StartAsync(context).ConfigureAwait(false);
        if (echo.Length > 0)
        {
            for (var index = 0; index < requests.Length; index++)
            {
                await sse.WriteAsync(chunks.Text(index, echo, null)).ConfigureAwait(false);
            }
        }
        // Choices interleave as the engine produces them; each chunk names its choice.
        await foreach (var (index, u) in run.ReadAllAsync().ConfigureAwait(false))
        {
            if (u.TextDelta.Length > 0)
            {
                await sse.WriteAsync(chunks.Text(index, u.TextDelta, null)).ConfigureAwait(false);
            }
            if (u.FinishReason is { } finish)
            {
                await sse.WriteAsync(chunks.Text(index, "", finish == FinishReason.Length ? "length" : "stop")).ConfigureAwait(false);
            }
        }
        if (request.IncludeUsage)
        {
            await sse.WriteAsync(chunks.Usage(requests[0].PromptTokens.Count, run.Results())).ConfigureAwait(false);
        }
        await sse.WriteDoneAsync().ConfigureAwait(false);
    }
}
