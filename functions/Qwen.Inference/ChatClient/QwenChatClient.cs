using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Qwen.Inference.Chat;
using Qwen.Inference.Constraints;
using Qwen.Inference.Generation;

namespace Qwen.Inference.ChatClient;

/// <summary>Microsoft.Extensions.AI chat client over a Qwen <see cref="IGenerationEngine"/>: ChatML prompt, options mapped to sampling settings, tools through Qwen's ReAct format, JSON output by constrained decoding, usage and finish reason reported.</summary>
/// <remarks>
/// <see cref="ChatOptions.Tools"/> (function declarations) take the same ReAct path as the HTTP API: the prompt of
/// <see cref="ChatMessagePrompt.BuildReAct"/>, the reply parsed by <see cref="ReActParser"/> into a
/// <see cref="FunctionCallContent"/> (finish reason <see cref="ChatFinishReason.ToolCalls"/>); an <c>Action</c> naming a
/// function that was not offered stays text. <see cref="ChatToolMode.RequireAny"/> / <c>RequireSpecific</c> and
/// <see cref="ChatResponseFormat.Json"/> constrain decoding (<see cref="ChatOptionsMapper.ToGrammar"/>). Tools need the
/// built-in prompt format: with <see cref="QwenChatClientOptions.PromptFormatter"/> or a raw-format package they are not
/// rendered. Thread-safe: the engine handles concurrent requests (the scheduler batches them).
/// </remarks>
public sealed class QwenChatClient : IChatClient
{
    private readonly IGenerationEngine _engine;
    private readonly QwenChatClientOptions _options;
    private readonly ChatClientMetadata _metadata;

    /// <summary>Creates a client over <paramref name="engine"/>; the engine stays owned by the caller.</summary>
    public QwenChatClient(IGenerationEngine engine, QwenChatClientOptions? options = null)
    {
        _engine = engine;
        _options = options ?? new QwenChatClientOptions();
        _metadata = new ChatClientMetadata("qwen", null, engine.Manifest.Name);
    }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (request, tools, react) = BuildRequest(messages, options);
        var text = new StringBuilder();
        GenerationUpdate? last = null;
        await foreach (var update in _engine.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.TextDelta);
            last = update;
        }
        var (message, called) = Reply(text.ToString(), tools, react);
        var response = new ChatResponse(message)
        {
            ResponseId = NewId(),
            ModelId = _engine.Manifest.Name,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = called ? ChatFinishReason.ToolCalls : MapFinish(last?.FinishReason),
            Usage = MapUsage(last?.Usage),
        };
        return response;
    }

    /// <inheritdoc />
    /// <remarks>With tools (or calls in the history) the reply is parsed whole (as the reference server requires), so it arrives as one update at the end: its text (the Thought or the answer), the <see cref="FunctionCallContent"/> when the model calls a function, and the usage.</remarks>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (request, tools, react) = BuildRequest(messages, options);
        var responseId = NewId();
        var created = DateTimeOffset.UtcNow;
        var held = new StringBuilder();
        await foreach (var update in _engine.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            if (update.FinishReason is null && update.TextDelta.Length == 0)
            {
                continue;
            }
            var contents = new List<AIContent>();
            var finish = MapFinish(update.FinishReason);
            if (react)
            {
                held.Append(update.TextDelta);
                if (update.FinishReason is null)
                {
                    continue;
                }
                var (message, called) = Reply(held.ToString(), tools, react);
                contents.AddRange(message.Contents);
                finish = called ? ChatFinishReason.ToolCalls : finish;
            }
            else if (update.TextDelta.Length > 0)
            {
                contents.Add(new TextContent(update.TextDelta));
            }
            if (MapUsage(update.Usage) is { } usage)
            {
                contents.Add(new UsageContent(usage));
            }
            yield return new ChatResponseUpdate(ChatRole.Assistant, contents)
            {
                ResponseId = responseId,
                MessageId = responseId,
                ModelId = _engine.Manifest.Name,
                CreatedAt = created,
                FinishReason = finish,
            };
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }
        if (serviceType == typeof(ChatClientMetadata))
        {
            return _metadata;
        }
        if (serviceType.IsInstanceOfType(_engine))
        {
            return _engine;
        }
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Does nothing: the engine belongs to whoever created it (usually the DI container).</summary>
    public void Dispose()
    {
    }

    private (GenerationRequest Request, IReadOnlyList<QwenToolDefinition> Tools, bool ReAct) BuildRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        if (list.Count == 0)
        {
            throw new ArgumentException("At least one chat message is needed.", nameof(messages));
        }
        var generation = _engine.Manifest.Generation;
        var builtIn = _options.PromptFormatter is null && generation.ChatFormat != "raw";
        IReadOnlyList<QwenToolDefinition> tools = builtIn ? ChatOptionsMapper.ToolDefinitions(options) : [];
        IReadOnlyList<int> prompt;
        IReadOnlyList<string>? stops = null;
        var assistantSoFar = "";
        // Without tools (ToolMode.None, or FunctionInvokingChatClient's last round) earlier calls and results must still
        // reach the model: they are rendered as ReAct text, and the reply is parsed the same way (any Action stays text).
        var react = tools.Count > 0 || (builtIn && list.Any(m => m.Contents.Any(c => c is FunctionCallContent or FunctionResultContent)));
        if (react)
        {
            var reactPrompt = ChatMessagePrompt.BuildReAct(list, tools, options?.StopSequences?.ToArray(), _engine.Tokenizer, _options.DefaultSystemPrompt, generation.MaxWindowSize);
            prompt = reactPrompt.PromptTokens;
            stops = reactPrompt.StopStrings;
            assistantSoFar = reactPrompt.IsCompletionMode ? reactPrompt.RawText : "";
        }
        else
        {
            prompt = _options.PromptFormatter is { } format
                ? format(list)
                : generation.ChatFormat == "raw"
                    // Base models see only the last message's text (spec §5.1 raw format).
                    ? _engine.Tokenizer.Encode(list[^1].Text)
                    : ChatMessagePrompt.Build(list, _engine.Tokenizer, _options.DefaultSystemPrompt, generation.MaxWindowSize);
        }
        var request = ChatOptionsMapper.ToRequest(prompt, options, generation);
        if (stops is not null)
        {
            request = request with { StopStrings = stops };
        }
        if (ChatOptionsMapper.ToGrammar(options, tools, assistantSoFar) is { } grammar)
        {
            request = request with { Constraint = TokenConstraint.Create(grammar, _engine.Tokenizer) };
        }
        return (request, tools, react);
    }

    /// <summary>The assistant message for <paramref name="text"/>: in a ReAct conversation, the reply parsed into its Thought and a function call, or the final answer.</summary>
    private static (ChatMessage Message, bool Called) Reply(string text, IReadOnlyList<QwenToolDefinition> tools, bool react)
    {
        if (!react)
        {
            return (new ChatMessage(ChatRole.Assistant, text), false);
        }
        // An Action naming a function that was not offered stays text: it is never handed to the caller as a call.
        var step = ReActParser.ParseOpenAiResponse(text, [.. tools.Select(t => t.NameForModel ?? t.Name)]);
        if (!step.IsToolCall)
        {
            return (new ChatMessage(ChatRole.Assistant, step.Content), false);
        }
        var name = tools.First(t => (t.NameForModel ?? t.Name) == step.ToolName).Name;
        var contents = new List<AIContent>();
        if (step.Content.Length > 0)
        {
            contents.Add(new TextContent(step.Content));
        }
        var arguments = step.ArgumentsJson ?? step.RawArguments ?? "{}";
        // Arguments that are not a JSON object become FunctionCallContent.Exception, which FunctionInvokingChatClient reports back to the model.
        contents.Add(FunctionCallContent.CreateFromParsedArguments(arguments, "call_" + Guid.NewGuid().ToString("N"), name,
            json => JsonSerializer.Deserialize<Dictionary<string, object?>>(json, AIJsonUtilities.DefaultOptions)));
        return (new ChatMessage(ChatRole.Assistant, contents), true);
    }

    private static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N");

    private static ChatFinishReason? MapFinish(FinishReason? reason) => reason switch
    {
        FinishReason.Stop => ChatFinishReason.Stop,
        FinishReason.Length => ChatFinishReason.Length,
        _ => null,
    };

    private static UsageDetails? MapUsage(GenerationUsage? usage) => usage is null ? null : new UsageDetails
    {
        InputTokenCount = usage.PromptTokens,
        OutputTokenCount = usage.CompletionTokens,
        TotalTokenCount = usage.TotalTokens,
        CachedInputTokenCount = usage.CachedPromptTokens,
    };
}
