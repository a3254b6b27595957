using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Qwen.Inference.Generation;
using Qwen.Inference.Scoring;
using Qwen.Inference.Tokenization;

namespace Qwen.Serving.Http;

/// <summary>The OpenAI / Azure OpenAI / llama.cpp-style endpoints, written once against <see cref="HttpContext"/> and mapped by both hosts.</summary>
/// <remarks>Thread-safe singleton. Every handler answers errors with OpenAI's error JSON and records the status in <see cref="IServingMetrics"/>.</remarks>
public sealed partial class OpenAiHandlers(
    IGenerationEngineProvider engines,
    IChatTemplate template,
    ApiKeyAuthorizer authorizer,
    IServingMetrics metrics,
    IOptions<HttpApiOptions> options,
    ILogger<OpenAiHandlers> logger)
{
    private const string FinalAnswerMarker = "\nFinal Answer: ";
    private const string ActionMarker = "\nAction:";
    private HttpApiOptions Options => options.Value;

    /// <summary>POST /v1/chat/completions.</summary>
    public Task ChatCompletionsAsync(HttpContext context) => RunAsync(context, "chat_completions", true, async () =>
    {
        using var doc = await ReadJsonAsync(context).ConfigureAwait(false);
        var request = OpenAiRequestReader.ReadChat(doc.RootElement, Options.MaxChoices);
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        var model = CheckModel(engine, request.Model);
        await ServeChatAsync(context, engine, request, model).ConfigureAwait(false);
    });

    /// <summary>POST /openai/deployments/{deployment}/chat/completions?api-version=… (Azure OpenAI shape; the deployment names the model).</summary>
    public Task AzureChatCompletionsAsync(HttpContext context, string deployment) => RunAsync(context, "azure_chat_completions", true, async () =>
    {
        if (string.IsNullOrEmpty(context.Request.Query["api-version"]))
        {
            throw OpenAiException.Invalid("api-version", "The 'api-version' query parameter is required (for example ?api-version=2024-10-21).", "missing_api_version");
        }
        using var doc = await ReadJsonAsync(context).ConfigureAwait(false);
        var request = OpenAiRequestReader.ReadChat(doc.RootElement, Options.MaxChoices);
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        var served = ServedModel(engine);
        if (!string.Equals(deployment, served, StringComparison.Ordinal))
        {
            throw new OpenAiException(404, $"The API deployment '{deployment}' does not exist; this server deploys '{served}'.", "invalid_request_error", "deployment", "DeploymentNotFound");
        }
        await ServeChatAsync(context, engine, request, served).ConfigureAwait(false);
    });

    /// <summary>POST /v1/completions: raw-format completion for the base model; prompt as text or token ids.</summary>
    public Task CompletionsAsync(HttpContext context) => RunAsync(context, "completions", true, async () =>
    {
        using var doc = await ReadJsonAsync(context).ConfigureAwait(false);
        var request = OpenAiRequestReader.ReadCompletion(doc.RootElement, Options.MaxChoices);
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        var model = CheckModel(engine, request.Model);
        var tokenizer = engine.Tokenizer;
        IReadOnlyList<int> prompt;
        if (request.PromptTokens is { } ids)
        {
            CheckTokenIds(ids, "prompt");
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
        var id = NewId("cmpl-");
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
            var requests = BuildRequests(engine, request, prompt, request.Stop, CallerIdentity.CacheScope(context, request.User));
            if (request.Stream)
            {
                await StreamCompletionAsync(context, engine, request, requests, id, created, model, echo).ConfigureAwait(false);
                return;
            }
            results = await GenerateAllAsync(engine, requests, context.RequestAborted).ConfigureAwait(false);
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
                    WriteLegacyLogprobs(w, tokenizer, promptScores, results[i].Tokens, echo.Length);
                }
                else
                {
                    w.WriteNull("logprobs");
                }
                w.WriteString("finish_reason", results[i].FinishReason == FinishReason.Length ? "length" : "stop");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            WriteUsage(w, prompt.Count, results);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    });

    /// <summary>GET /v1/models.</summary>
    public Task ModelsAsync(HttpContext context) => RunAsync(context, "models", true, async () =>
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
    public Task ModelAsync(HttpContext context, string model) => RunAsync(context, "models", true, async () =>
    {
        var engine = await engines.GetAsync(context.RequestAborted).ConfigureAwait(false);
        CheckModel(engine, model);
        await OpenAiJson.WriteAsync(context, 200, w => WriteModel(w, engine)).ConfigureAwait(false);
    });

    /// <summary>POST /tokenize (llama.cpp): <c>{"content","add_special","parse_special","with_pieces"}</c> → <c>{"tokens"}</c>.</summary>
    public Task TokenizeAsync(HttpContext context) => RunAsync(context, "tokenize", true, async () =>
    {
        using var doc = await ReadJsonAsync(context).ConfigureAwait(false);
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
    public Task DetokenizeAsync(HttpContext context) => RunAsync(context, "detokenize", true, async () =>
    {
        using var doc = await ReadJsonAsync(context).ConfigureAwait(false);
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
        CheckTokenIds(ids, "tokens");
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
    public Task ApplyTemplateAsync(HttpContext context) => RunAsync(context, "apply_template", true, async () =>
    {
        using var doc = await ReadJsonAsync(context).ConfigureAwait(false);
        var request = OpenAiRequestReader.ReadChat(doc.RootElement, Options.MaxChoices);
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

    /// <summary>GET /health: the process is up (no key needed).</summary>
    public Task HealthAsync(HttpContext context) => RunAsync(context, "health", false, () =>
        OpenAiJson.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("status", "ok");
            w.WriteEndObject();
        }));

    /// <summary>GET /ready: 200 once the model is loaded, else 503 (no key needed).</summary>
    public Task ReadyAsync(HttpContext context) => RunAsync(context, "ready", false, () =>
    {
        var engine = engines.Loaded;
        return OpenAiJson.WriteAsync(context, engine is null ? 503 : 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("status", engine is null ? "loading" : "ready");
            if (engine is not null)
            {
                w.WriteString("model", ServedModel(engine));
            }
            w.WriteEndObject();
        });
    });

    /// <summary>GET /metrics: Prometheus text.</summary>
    public Task MetricsAsync(HttpContext context) => RunAsync(context, "metrics", true, async () =>
    {
        var bytes = Encoding.UTF8.GetBytes(metrics.ToPrometheusText());
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    });

    private async Task ServeChatAsync(HttpContext context, IGenerationEngine engine, ChatCompletionRequest request, string model)
    {
        var prompt = template.Render(engine.Tokenizer, request.Messages, request.Tools, request.Stop);
        var requests = BuildRequests(engine, request, prompt.Tokens, prompt.StopStrings, CallerIdentity.CacheScope(context, request.User));
        var id = NewId("chatcmpl-");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (request.Stream)
        {
            await StreamChatAsync(context, engine, request, prompt, requests, id, created, model).ConfigureAwait(false);
            return;
        }
        var results = await GenerateAllAsync(engine, requests, context.RequestAborted).ConfigureAwait(false);
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
                OpenAiJson.WriteNullable(w, "content", reply.IsToolCall ? NullIfEmpty(reply.Content) : reply.Content ?? "");
                if (reply.IsToolCall)
                {
                    WriteToolCall(w, request.LegacyFunctions, reply, NewId("call_"), streaming: false);
                }
                w.WriteEndObject();
                if (request.Logprobs)
                {
                    WriteChatLogprobs(w, engine.Tokenizer, r.Tokens);
                }
                else
                {
                    w.WriteNull("logprobs");
                }
                w.WriteString("finish_reason", FinishText(r.FinishReason, reply, request.LegacyFunctions));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            WriteUsage(w, prompt.Tokens.Count, results);
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
            metrics.InFlight(1);
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
                            logprobTokens is null ? null : w => WriteChatLogprobs(w, engine.Tokenizer, logprobTokens))).ConfigureAwait(false);
                    }
                    if (u.FinishReason is { } f)
                    {
                        finish = f;
                        usage = u.Usage;
                    }
                    has = await e.MoveNextAsync().ConfigureAwait(false);
                }
                var finishText = FinishText(finish, null, request.LegacyFunctions);
                if (!answering)
                {
                    var reply = template.ParseReply(text.ToString());
                    if (reply.IsToolCall)
                    {
                        finishText = FinishText(finish, reply, request.LegacyFunctions);
                        await sse.WriteAsync(chunks.Chat(index, w =>
                        {
                            if (!string.IsNullOrEmpty(reply.Content))
                            {
                                w.WriteString("content", reply.Content);
                            }
                            WriteToolCall(w, request.LegacyFunctions, reply, NewId("call_"), streaming: true);
                        }, null, null)).ConfigureAwait(false);
                    }
                    else if (!string.IsNullOrEmpty(reply.Content))
                    {
                        await sse.WriteAsync(chunks.Chat(index, w => w.WriteString("content", reply.Content), null, null)).ConfigureAwait(false);
                    }
                }
                await sse.WriteAsync(chunks.Chat(index, _ => { }, finishText, null)).ConfigureAwait(false);
                results[index] = Finish(text.ToString(), tokens, finish, usage, requests[index], stopwatch);
            }
            finally
            {
                metrics.InFlight(-1);
            }
        }
        if (request.IncludeUsage)
        {
            await sse!.WriteAsync(new ChunkFactory(id, created, model, true, "chat.completion.chunk").Usage(requests[0].PromptTokens.Count, results)).ConfigureAwait(false);
        }
        await sse!.WriteDoneAsync().ConfigureAwait(false);
    }

    private async Task StreamCompletionAsync(
        HttpContext context, IGenerationEngine engine, ChatCompletionRequest request,
        GenerationRequest[] requests, string id, long created, string model, string echo)
    {
        var ct = context.RequestAborted;
        SseWriter? sse = null;
        var results = new GenerationResult[requests.Length];
        var chunks = new ChunkFactory(id, created, model, request.IncludeUsage, "text_completion");
        for (var index = 0; index < requests.Length; index++)
        {
            var stopwatch = Stopwatch.StartNew();
            metrics.InFlight(1);
            try
            {
                await using var e = engine.GenerateAsync(requests[index], ct).GetAsyncEnumerator(ct);
                var has = await e.MoveNextAsync().ConfigureAwait(false);
                sse ??= await SseWriter.StartAsync(context).ConfigureAwait(false);
                if (echo.Length > 0)
                {
                    await sse.WriteAsync(chunks.Text(index, echo, null)).ConfigureAwait(false);
                }
                var text = new StringBuilder();
                var tokens = new List<GeneratedToken>();
                FinishReason finish = FinishReason.Stop;
                GenerationUsage? usage = null;
                while (has)
                {
                    var u = e.Current;
                    text.Append(u.TextDelta);
                    tokens.AddRange(u.Tokens);
                    if (u.TextDelta.Length > 0)
                    {
                        await sse.WriteAsync(chunks.Text(index, u.TextDelta, null)).ConfigureAwait(false);
                    }
                    if (u.FinishReason is { } f)
                    {
                        finish = f;
                        usage = u.Usage;
                    }
                    has = await e.MoveNextAsync().ConfigureAwait(false);
                }
                await sse.WriteAsync(chunks.Text(index, "", finish == FinishReason.Length ? "length" : "stop")).ConfigureAwait(false);
                results[index] = Finish(text.ToString(), tokens, finish, usage, requests[index], stopwatch);
            }
            finally
            {
                metrics.InFlight(-1);
            }
        }
        if (request.IncludeUsage)
        {
            await sse!.WriteAsync(chunks.Usage(requests[0].PromptTokens.Count, results)).ConfigureAwait(false);
        }
        await sse!.WriteDoneAsync().ConfigureAwait(false);
    }

    private GenerationRequest[] BuildRequests(IGenerationEngine engine, ChatCompletionRequest request, IReadOnlyList<int> prompt, IReadOnlyList<string> stops, string cacheScope)
    {
        var context = engine.ContextLength; // what a KV row holds, not the package maximum
        if (prompt.Count + 1 > context)
        {
            throw new OpenAiException(400,
                $"This model's maximum context length is {context} tokens. However, your prompt has {prompt.Count} tokens, which leaves no room for a reply. Shorten the messages.",
                "invalid_request_error", request.Messages.Count > 0 ? "messages" : "prompt", "context_length_exceeded");
        }
        // Compared as "requested > room" so a max_tokens near int.MaxValue cannot overflow past the check.
        if (request.MaxTokens is { } requested && requested > context - prompt.Count)
        {
            throw new OpenAiException(400,
                $"This model's maximum context length is {context} tokens. However, you requested {prompt.Count + requested} tokens ({prompt.Count} in the prompt, {requested} for the completion). Reduce the prompt or max_tokens.",
                "invalid_request_error", "max_tokens", "context_length_exceeded");
        }
        var defaults = engine.Manifest.Generation;
        var maxNew = request.MaxTokens ?? Math.Min(defaults.MaxNewTokens, context - prompt.Count);
        return Enumerable.Range(0, request.N).Select(i => new GenerationRequest
        {
            PromptTokens = prompt,
            MaxNewTokens = maxNew,
            Sampling = request.ToSampling(defaults, i),
            StopStrings = stops,
            Logprobs = request.Logprobs,
            TopLogprobs = request.TopLogprobs,
            User = request.User,
            CacheScope = cacheScope,
        }).ToArray();
    }

    private async Task<GenerationResult[]> GenerateAllAsync(IGenerationEngine engine, GenerationRequest[] requests, CancellationToken ct)
    {
        // Choices run concurrently so a batching engine can decode them together. One refused or failed choice fails the
        // request, so its siblings are cancelled at once instead of running to completion for an answer nobody gets.
        using var siblings = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var tasks = requests.Select(async r =>
        {
            try
            {
                return await GenerateOneAsync(engine, r, siblings.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !siblings.IsCancellationRequested)
            {
                await siblings.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }).ToArray();
        // Cancelled siblings end as Canceled tasks, so WhenAll surfaces the failure that caused it, not a cancellation.
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private async Task<GenerationResult> GenerateOneAsync(IGenerationEngine engine, GenerationRequest request, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        metrics.InFlight(1);
        try
        {
            var text = new StringBuilder();
            var tokens = new List<GeneratedToken>();
            FinishReason finish = FinishReason.Stop;
            GenerationUsage? usage = null;
            await foreach (var u in engine.GenerateAsync(request, ct).ConfigureAwait(false))
            {
                text.Append(u.TextDelta);
                tokens.AddRange(u.Tokens);
                if (u.FinishReason is { } f)
                {
                    finish = f;
                    usage = u.Usage;
                }
            }
            return Finish(text.ToString(), tokens, finish, usage, request, stopwatch);
        }
        finally
        {
            metrics.InFlight(-1);
        }
    }

    private GenerationResult Finish(string text, List<GeneratedToken> tokens, FinishReason finish, GenerationUsage? usage, GenerationRequest request, Stopwatch stopwatch)
    {
        usage ??= new GenerationUsage(request.PromptTokens.Count, tokens.Count, 0, stopwatch.Elapsed);
        metrics.GenerationCompleted(usage.PromptTokens, usage.CompletionTokens, usage.TimeToFirstToken, stopwatch.Elapsed - usage.TimeToFirstToken);
        return new GenerationResult(text, tokens, finish, usage);
    }

    private async Task RunAsync(HttpContext context, string route, bool authorize, Func<Task> handler)
    {
        try
        {
            if (authorize)
            {
                authorizer.Authorize(context);
            }
            await handler().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; its generation was cancelled through the same token. Nothing to answer.
            LogClientDisconnected(logger, route);
            metrics.RequestCompleted(route, 499);
            return;
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            var error = ex switch
            {
                OpenAiException e => e,
                ContextLengthExceededException c => new OpenAiException(400,
                    $"This model's maximum context length is {c.ContextLength} tokens. However, your prompt has {c.PromptTokens} tokens. Shorten the messages.",
                    "invalid_request_error", "messages", "context_length_exceeded"),
                EngineBusyException b => new OpenAiException(429, b.Message, "requests", null, "rate_limit_exceeded") { RetryAfter = b.RetryAfter },
                _ => null,
            };
            if (error is null)
            {
                LogUnhandled(logger, route, ex);
                error = new OpenAiException(500, "The server had an error while processing your request. Retry, and report it if it persists.", "server_error", null, null);
            }
            await WriteErrorAsync(context, error).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Mid-stream failure: the status line is gone, so report in-band as OpenAI does, then end the stream.
            LogUnhandled(logger, route, ex);
            var error = ex as OpenAiException ?? new OpenAiException(500, "The server had an error while streaming the response.", "server_error");
            try
            {
                await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(SseWriter.Frame(Encoding.UTF8.GetString(OpenAiJson.Error(error))))).ConfigureAwait(false);
            }
            catch (Exception writeFailure) when (writeFailure is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // The connection is already broken; nothing more can be told to this client.
            }
        }
        metrics.RequestCompleted(route, context.Response.StatusCode);
    }

    private static async Task WriteErrorAsync(HttpContext context, OpenAiException error)
    {
        var bytes = OpenAiJson.Error(error);
        context.Response.Clear();
        context.Response.StatusCode = error.StatusCode;
        context.Response.ContentType = "application/json";
        if (error.RetryAfter is { } retry)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (error.StatusCode == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes).ConfigureAwait(false);
    }

    private Task<JsonDocument> ReadJsonAsync(HttpContext context) =>
        RequestBodyReader.ReadJsonAsync(context.Request, Options.MaxRequestBodyBytes, context.RequestAborted);

    private string ServedModel(IGenerationEngine engine) =>
        string.IsNullOrEmpty(Options.ModelName) ? engine.Manifest.Name : Options.ModelName;

    private string CheckModel(IGenerationEngine engine, string? requested)
    {
        var served = ServedModel(engine);
        if (string.IsNullOrEmpty(requested))
        {
            throw OpenAiException.Invalid("model", $"'model' is required; this server serves '{served}'.");
        }
        if (!string.Equals(requested, served, StringComparison.Ordinal))
        {
            throw new OpenAiException(404, $"The model '{requested}' does not exist; this server serves '{served}'.", "invalid_request_error", "model", "model_not_found");
        }
        return served;
    }

    private static void CheckTokenIds(IReadOnlyList<int> ids, string param)
    {
        foreach (var id in ids)
        {
            if (id < 0 || id >= QwenTokenizer.VocabCount)
            {
                throw OpenAiException.Invalid(param, $"Token id {id} in '{param}' is outside the vocabulary (0 to {QwenTokenizer.VocabCount - 1}).");
            }
        }
    }

    private void WriteModel(Utf8JsonWriter w, IGenerationEngine engine)
    {
        w.WriteStartObject();
        w.WriteString("id", ServedModel(engine));
        w.WriteString("object", "model");
        w.WriteNumber("created", 1_690_848_000); // Qwen-7B's release, 2023-08-01: a stable value rather than the start time.
        w.WriteString("owned_by", "qwen");
        w.WriteNumber("context_length", engine.ContextLength);
        w.WriteEndObject();
    }

    private static void WriteToolCall(Utf8JsonWriter w, bool legacy, AssistantReply reply, string callId, bool streaming)
    {
        if (legacy)
        {
            w.WriteStartObject("function_call");
            w.WriteString("name", reply.ToolName);
            w.WriteString("arguments", reply.ToolArguments ?? "{}");
            w.WriteEndObject();
            return;
        }
        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        if (streaming)
        {
            w.WriteNumber("index", 0);
        }
        w.WriteString("id", callId);
        w.WriteString("type", "function");
        w.WriteStartObject("function");
        w.WriteString("name", reply.ToolName);
        w.WriteString("arguments", reply.ToolArguments ?? "{}");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
    }

    private static string FinishText(FinishReason finish, AssistantReply? reply, bool legacy) =>
        reply is { IsToolCall: true } ? (legacy ? "function_call" : "tool_calls")
        : finish == FinishReason.Length ? "length" : "stop";

    internal static void WriteUsage(Utf8JsonWriter w, int promptTokens, IReadOnlyList<GenerationResult> results)
    {
        var completion = results.Sum(r => r.Usage.CompletionTokens);
        var cached = results.Count == 0 ? 0 : results.Max(r => r.Usage.CachedPromptTokens);
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", promptTokens);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", promptTokens + completion);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", cached);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    internal static void WriteChatLogprobs(Utf8JsonWriter w, QwenTokenizer tokenizer, IReadOnlyList<GeneratedToken> tokens)
    {
        w.WriteStartObject("logprobs");
        w.WriteStartArray("content");
        foreach (var t in tokens)
        {
            w.WriteStartObject();
            WriteTokenLogprob(w, tokenizer, t.Id, t.Logprob);
            w.WriteStartArray("top_logprobs");
            foreach (var alt in t.TopLogprobs)
            {
                w.WriteStartObject();
                WriteTokenLogprob(w, tokenizer, alt.Id, alt.Logprob);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("refusal");
        w.WriteEndObject();
    }

    private static void WriteTokenLogprob(Utf8JsonWriter w, QwenTokenizer tokenizer, int id, float logprob)
    {
        w.WriteString("token", tokenizer.Decode([id]));
        w.WriteNumber("logprob", float.IsFinite(logprob) ? logprob : -9999f);
        w.WriteStartArray("bytes");
        foreach (var b in tokenizer.GetTokenBytes(id))
        {
            w.WriteNumberValue(b);
        }
        w.WriteEndArray();
    }

    /// <summary>
    /// OpenAI legacy <c>logprobs</c>: the scored prompt tokens first when echoed (the first one with null log-probability
    /// and null top_logprobs, as vLLM and lm-evaluation-harness expect), then the generated tokens.
    /// </summary>
    internal static void WriteLegacyLogprobs(Utf8JsonWriter w, QwenTokenizer tokenizer, IReadOnlyList<PromptTokenScore>? prompt,
        IReadOnlyList<GeneratedToken> tokens, int offset)
    {
        var entries = new List<(int Id, double? Logprob, IReadOnlyList<TokenLogprob>? Top, bool Generated)>();
        foreach (var p in prompt ?? [])
        {
            entries.Add((p.Id, p.Logprob, p.Logprob is null ? null : p.TopLogprobs, false));
        }
        foreach (var t in tokens)
        {
            entries.Add((t.Id, t.Logprob, t.TopLogprobs, true));
        }
        var textOffset = prompt is null ? offset : 0;
        w.WriteStartObject("logprobs");
        w.WriteStartArray("tokens");
        foreach (var e in entries)
        {
            w.WriteStringValue(tokenizer.Decode([e.Id]));
        }
        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        foreach (var e in entries)
        {
            if (e.Logprob is { } lp)
            {
                if (e.Generated)
                {
                    w.WriteNumberValue(float.IsFinite((float)lp) ? (float)lp : -9999f); // the sampler's float32 value, written as before
                }
                else
                {
                    w.WriteNumberValue(double.IsFinite(lp) ? lp : -9999.0);
                }
            }
            else
            {
                w.WriteNullValue();
            }
        }
        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var e in entries)
        {
            if (e.Top is null)
            {
                w.WriteNullValue();
                continue;
            }
            w.WriteStartObject();
            foreach (var alt in e.Top)
            {
                // Two ids can decode to the same text (partial UTF-8): the first (more likely) one is kept, so the object has unique keys.
                var key = tokenizer.Decode([alt.Id]);
                if (!e.Top.TakeWhile(a => a.Id != alt.Id).Any(a => tokenizer.Decode([a.Id]) == key))
                {
                    w.WriteNumber(key, alt.Logprob);
                }
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        foreach (var e in entries)
        {
            w.WriteNumberValue(textOffset);
            textOffset += tokenizer.Decode([e.Id]).Length;
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static string NewId(string prefix)
    {
        Span<byte> bytes = stackalloc byte[12];
        RandomNumberGenerator.Fill(bytes);
        return prefix + Convert.ToHexStringLower(bytes);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Request to {Route} failed")]
    private static partial void LogUnhandled(ILogger logger, string route, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client disconnected from {Route}; its generation was cancelled")]
    private static partial void LogClientDisconnected(ILogger logger, string route);
}
