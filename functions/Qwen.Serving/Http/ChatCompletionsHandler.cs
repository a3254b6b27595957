using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Qwen.Inference.Generation;
using Qwen.Inference.Scoring;
using Qwen.Inference.Tokenization;

namespace Qwen.Serving.Http;

/// <summary>POST /v1/chat/completions and its Azure OpenAI twin: ChatML or ReAct prompt, tool calls parsed back, streamed or whole.</summary>
/// <remarks>Thread-safe singleton, mapped by both hosts and called by batch lines.</remarks>
public sealed class ChatCompletionsHandler(IGenerationEngineProvider engines, IChatTemplate template, ApiRequestRunner runner, ChoiceGenerator generator)
{
    private const string FinalAnswerMarker = "\nFinal Answer: ";
    private const string ActionMarker = "\nAction:";

    /// <summary>POST /v1/chat/completions.</summary>
    public Task ChatCompletionsAsync(HttpContext context) => runner.RunAsync(context, "chat_completions", true, async () =>
    {
        using var doc = await runner.ReadJsonAsync(context).ConfigureAwait(false);
        var request = OpenAiRequestReader.ReadChat(doc.RootElement, runner.Options.MaxChoices);
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        var model = runner.CheckModel(engine, request.Model);
        await ServeChatAsync(context, engine, request, model).ConfigureAwait(false);
    });

    /// <summary>POST /openai/deployments/{deployment}/chat/completions?api-version=… (Azure OpenAI shape; the deployment names the model).</summary>
    public Task AzureChatCompletionsAsync(HttpContext context, string deployment) => runner.RunAsync(context, "azure_chat_completions", true, async () =>
    {
        if (string.IsNullOrEmpty(context.Request.Query["api-version"]))
        {
            throw OpenAiException.Invalid("api-version", "The 'api-version' query parameter is required (for example ?api-version=2024-10-21).", "missing_api_version");
        }
        using var doc = await runner.ReadJsonAsync(context).ConfigureAwait(false);
        var request = OpenAiRequestReader.ReadChat(doc.RootElement, runner.Options.MaxChoices);
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        var served = runner.ServedModel(engine);
        if (!string.Equals(deployment, served, StringComparison.Ordinal))
        {
            throw new OpenAiException(404, $"The API deployment '{deployment}' does not exist; this server deploys '{served}'.", "invalid_request_error", "deployment", "DeploymentNotFound");
        }
        await ServeChatAsync(context, engine, request, served).ConfigureAwait(false);
    });

    private async Task ServeChatAsync(HttpContext context, IGenerationEngine engine, ChatCompletionRequest request, string model)
    {
        var prompt = template.Render(engine.Tokenizer, request.Messages, request.Tools, request.Stop);
        var requests = ChoiceGenerator.BuildRequests(engine, request, prompt.Tokens, prompt.StopStrings, CallerIdentity.CacheScope(context, request.User));
        var id = OpenAiWriters.NewId("chatcmpl-");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (request.Stream)
        {
            await StreamChatAsync(context, engine, request, prompt, requests, id, created, model).ConfigureAwait(false);
            return;
        }
        var results = await generator.GenerateAllAsync(engine, requests, context.RequestAborted).ConfigureAwait(false);
        await OpenAiJson.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", created);
            w.WriteString("model", model);
            w.WriteStartArray("choices");
            for (var i = 0; i < results.Length; i++)
            {
                var r = results[i];
                var reply = prompt.UsesTools ? template.ParseReply(r.Text) : new AssistantReply(r.Text);
                w.WriteStartObject();
                w.WriteNumber("index", i);
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                OpenAiJson.WriteNullable(w, "content", reply.IsToolCall ? OpenAiWriters.NullIfEmpty(reply.Content) : reply.Content ?? "");
                if (reply.IsToolCall)
                {
                    OpenAiWriters.WriteToolCall(w, request.LegacyFunctions, reply, OpenAiWriters.NewId("call_"), streaming: false);
                }
                w.WriteEndObject();
                if (request.Logprobs)
                {
                    OpenAiWriters.WriteChatLogprobs(w, engine.Tokenizer, r.Tokens);
                }
                else
                {
                    w.WriteNull("logprobs");
                }
                w.WriteString("finish_reason", OpenAiWriters.FinishText(r.FinishReason, reply, request.LegacyFunctions));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            OpenAiWriters.WriteUsage(w, prompt.Tokens.Count, results);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task StreamChatAsync(
        HttpContext context, IGenerationEngine engine, ChatCompletionRequest request, ChatPrompt prompt,
        GenerationRequest[] requests, string id, long created, string model)
    {
        var ct = context.RequestAborted;
        SseWriter? sse = null;
        var results = new GenerationResult[requests.Length];
        for (var index = 0; index < requests.Length; index++)
        {
            var chunks = new ChunkFactory(id, created, model, request.IncludeUsage, "chat.completion.chunk");
            var stopwatch = Stopwatch.StartNew();
            generator.Metrics.InFlight(1);
            try
            {
                await using var e = engine.GenerateAsync(requests[index], ct).GetAsyncEnumerator(ct);
                // The first update comes before any byte is sent, so a busy engine or an over-long prompt still gets a proper 4xx.
                var has = await e.MoveNextAsync().ConfigureAwait(false);
                sse ??= await SseWriter.StartAsync(context).ConfigureAwait(false);
                await sse.WriteAsync(chunks.Chat(index, w => { w.WriteString("role", "assistant"); w.WriteString("content", ""); }, null, null)).ConfigureAwait(false);
                var text = new StringBuilder();
                var tokens = new List<GeneratedToken>();
                var answering = !prompt.UsesTools;
                var sent = 0;
                FinishReason finish = FinishReason.Stop;
                GenerationUsage? usage = null;
                while (has)
                {
                    var u = e.Current;
                    text.Append(u.TextDelta);
                    tokens.AddRange(u.Tokens);
                    if (!answering)
                    {
                        // ReAct: hold everything back until the reply is known to be a final answer; a tool call is sent whole at the end.
                        var all = text.ToString();
                        var at = all.IndexOf(FinalAnswerMarker, StringComparison.Ordinal);
                        if (at >= 0 && all.IndexOf(ActionMarker, StringComparison.Ordinal) is var a && (a < 0 || a > at))
                        {
                            answering = true;
                            sent = at + FinalAnswerMarker.Length;
                        }
                    }
                    if (answering && text.Length > sent)
                    {
                        var delta = text.ToString(sent, text.Length - sent);
                        sent = text.Length;
                        var logprobTokens = request.Logprobs && !prompt.UsesTools ? u.Tokens : null;
                        await sse.WriteAsync(chunks.Chat(index, w => w.WriteString("content", delta), null,
                            logprobTokens is null ? null : w => OpenAiWriters.WriteChatLogprobs(w, engine.Tokenizer, logprobTokens))).ConfigureAwait(false);
                    }
                    if (u.FinishReason is { } f)
                    {
                        finish = f;
                        usage = u.Usage;
                    }
                    has = await e.MoveNextAsync().ConfigureAwait(false);
                }
                var finishText = OpenAiWriters.FinishText(finish, null, request.LegacyFunctions);
                if (!answering)
                {
                    var reply = template.ParseReply(text.ToString());
                    if (reply.IsToolCall)
                    {
                        finishText = OpenAiWriters.FinishText(finish, reply, request.LegacyFunctions);
                        await sse.WriteAsync(chunks.Chat(index, w =>
                        {
                            if (!string.IsNullOrEmpty(reply.Content))
                            {
                                w.WriteString("content", reply.Content);
                            }
                            OpenAiWriters.WriteToolCall(w, request.LegacyFunctions, reply, OpenAiWriters.NewId("call_"), streaming: true);
                        }, null, null)).ConfigureAwait(false);
                    }
                    else if (!string.IsNullOrEmpty(reply.Content))
                    {
                        await sse.WriteAsync(chunks.Chat(index, w => w.WriteString("content", reply.Content), null, null)).ConfigureAwait(false);
                    }
                }
                await sse.WriteAsync(chunks.Chat(index, _ => { }, finishText, null)).ConfigureAwait(false);
                results[index] = generator.Finish(text.ToString(), tokens, finish, usage, requests[index], stopwatch);
            }
            finally
            {
                generator.Metrics.InFlight(-1);
            }
        }
        if (request.IncludeUsage)
        {
            await sse!.WriteAsync(new ChunkFactory(id, created, model, true, "chat.completion.chunk").Usage(requests[0].PromptTokens.Count, results)).ConfigureAwait(false);
        }
        await sse!.WriteDoneAsync().ConfigureAwait(false);
    }
}
