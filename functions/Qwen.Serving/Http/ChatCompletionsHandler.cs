using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Qwen.Inference.Constraints;
using Qwen.Inference.Generation;

namespace Qwen.Serving.Http;

/// <summary>POST /v1/chat/completions and its Azure OpenAI twin: ChatML or ReAct prompt, tool calls parsed back, streamed or whole.</summary>
/// <remarks>Thread-safe singleton, mapped by both hosts and called by batch lines.</remarks>
public sealed class ChatCompletionsHandler(IGenerationEngineProvider engines, IChatTemplate template, ApiRequestRunner runner, ChoiceGenerator generator)
{
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
        var offered = OfferedTools(request, prompt);
        var constraint = Constraint(engine, request, prompt, offered);
        var requests = ChoiceGenerator.BuildRequests(engine, request, prompt.Tokens, prompt.StopStrings, CallerIdentity.CacheScope(context, request.User), constraint);
        var id = OpenAiWriters.NewId("chatcmpl-");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (request.Stream)
        {
            await StreamChatAsync(context, engine, request, prompt, offered, requests, id, created, model).ConfigureAwait(false);
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
                var reply = prompt.UsesTools ? template.ParseReply(r.Text, offered) : new AssistantReply(r.Text);
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
                w.WriteString("finish_reason", OpenAiWriters.FinishText(r.FinishReason, reply.IsToolCall, request.LegacyFunctions));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            OpenAiWriters.WriteUsage(w, prompt.Tokens.Count, results);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    // The tools a reply may call: all offered ones with "auto", the named one with a named tool_choice. A call of any other
    // name stays text.
    private static string[] OfferedTools(ChatCompletionRequest request, ChatPrompt prompt) =>
        !prompt.UsesTools ? []
        : request.ToolChoice.Mode == "function" ? [request.ToolChoice.FunctionName!]
        : request.Tools.Select(t => t.Name).ToArray();

    // tool_choice required / named: the reply must be a call (ReAct grammar); else response_format's grammar, if any.
    private TokenConstraint? Constraint(IGenerationEngine engine, ChatCompletionRequest request, ChatPrompt prompt, string[] offered)
    {
        Grammar? grammar = null;
        if (prompt.UsesTools && request.ToolChoice.Mode is "required" or "function")
        {
            grammar = template.ToolCallGrammar(prompt, request.Tools.Where(t => offered.Contains(t.Name)).ToArray(), request.LegacyFunctions);
        }
        else if (!prompt.UsesTools)
        {
            grammar = request.ResponseGrammar;
        }
        return ChoiceGenerator.Compile(grammar, engine.Tokenizer, prompt.UsesTools ? (request.LegacyFunctions ? "functions" : "tools") : "response_format");
    }

    private async Task StreamChatAsync(
        HttpContext context, IGenerationEngine engine, ChatCompletionRequest request, ChatPrompt prompt, string[] offered,
        GenerationRequest[] requests, string id, long created, string model)
    {
        var chunks = new ChunkFactory(id, created, model, request.IncludeUsage, "chat.completion.chunk");
        // The first update comes before any byte is sent, so a busy engine or an over-long prompt still gets a proper 4xx.
        await using var run = await generator.StartAsync(engine, requests, context.RequestAborted).ConfigureAwait(false);
        var sse = await SseWriter.StartAsync(context).ConfigureAwait(false);
        var replies = new ReActReplyStream?[requests.Length];
        var callIds = new string?[requests.Length];
        for (var index = 0; index < requests.Length; index++)
        {
            replies[index] = prompt.UsesTools ? new ReActReplyStream(offered, template) : null;
            await sse.WriteAsync(chunks.Chat(index, w => { w.WriteString("role", "assistant"); w.WriteString("content", ""); }, null, null)).ConfigureAwait(false);
        }
        await foreach (var (index, u) in run.ReadAllAsync().ConfigureAwait(false))
        {
            if (replies[index] is not { } reply)
            {
                if (u.TextDelta.Length > 0)
                {
                    var logprobTokens = request.Logprobs ? u.Tokens : null;
                    await sse.WriteAsync(chunks.Chat(index, w => w.WriteString("content", u.TextDelta), null,
                        logprobTokens is null ? null : w => OpenAiWriters.WriteChatLogprobs(w, engine.Tokenizer, logprobTokens))).ConfigureAwait(false);
                }
            }
            else
            {
                // ReAct: text is held back until the reply is known to be a final answer (streamed from there) or a call (name, then argument deltas).
                var events = new List<ReplyEvent>(reply.Append(u.TextDelta));
                if (u.FinishReason is not null)
                {
                    events.AddRange(reply.Complete());
                }
                foreach (var e in events)
                {
                    await sse.WriteAsync(chunks.Chat(index, w => WriteReplyEvent(w, e, request.LegacyFunctions, ref callIds[index]), null, null)).ConfigureAwait(false);
                }
            }
            if (u.FinishReason is { } finish)
            {
                var finishText = OpenAiWriters.FinishText(finish, replies[index] is { IsToolCall: true }, request.LegacyFunctions);
                await sse.WriteAsync(chunks.Chat(index, _ => { }, finishText, null)).ConfigureAwait(false);
            }
        }
        if (request.IncludeUsage)
        {
            await sse.WriteAsync(chunks.Usage(requests[0].PromptTokens.Count, run.Results())).ConfigureAwait(false);
        }
        await sse.WriteDoneAsync().ConfigureAwait(false);
    }

    // OpenAI's streamed tool call: the first delta carries index, id, type and name with empty arguments; later ones carry
    // argument text only. Legacy function_call deltas have the same split without index and id.
    private static void WriteReplyEvent(Utf8JsonWriter w, ReplyEvent e, bool legacy, ref string? callId)
    {
        switch (e.Kind)
        {
            case ReplyEventKind.Content:
                w.WriteString("content", e.Text);
                return;
            case ReplyEventKind.ToolCall:
                if (!string.IsNullOrEmpty(e.Text))
                {
                    w.WriteString("content", e.Text);
                }
                callId = OpenAiWriters.NewId("call_");
                break;
        }
        if (legacy)
        {
            w.WriteStartObject("function_call");
        }
        else
        {
            w.WriteStartArray("tool_calls");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            if (e.Kind == ReplyEventKind.ToolCall)
            {
                w.WriteString("id", callId);
                w.WriteString("type", "function");
            }
            w.WriteStartObject("function");
        }
        if (e.Kind == ReplyEventKind.ToolCall)
        {
            w.WriteString("name", e.Name);
        }
        w.WriteString("arguments", e.Kind == ReplyEventKind.ToolCall ? "" : e.Text);
        w.WriteEndObject();
        if (!legacy)
        {
            w.WriteEndObject();
            w.WriteEndArray();
        }
    }
}
