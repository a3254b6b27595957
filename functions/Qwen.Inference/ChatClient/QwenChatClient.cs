using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using Qwen.Inference.Generation;

namespace Qwen.Inference.ChatClient;

/// <summary>Microsoft.Extensions.AI chat client over a Qwen <see cref="IGenerationEngine"/>: ChatML prompt, options mapped to sampling settings, usage and finish reason reported.</summary>
/// <remarks>Thread-safe: the engine handles concurrent requests (the scheduler batches them).</remarks>
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
        var text = new StringBuilder();
        GenerationUpdate? last = null;
        await foreach (var update in _engine.GenerateAsync(BuildRequest(messages, options), cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.TextDelta);
            last = update;
        }
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, text.ToString()))
        {
            ResponseId = NewId(),
            ModelId = _engine.Manifest.Name,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = MapFinish(last?.FinishReason),
            Usage = MapUsage(last?.Usage),
        };
        return response;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = BuildRequest(messages, options);
        var responseId = NewId();
        var created = DateTimeOffset.UtcNow;
        await foreach (var update in _engine.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            if (update.FinishReason is null && update.TextDelta.Length == 0)
            {
                continue;
            }
            var contents = new List<AIContent>();
            if (update.TextDelta.Length > 0)
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
                FinishReason = MapFinish(update.FinishReason),
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

    private GenerationRequest BuildRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        if (list.Count == 0)
        {
            throw new ArgumentException("At least one chat message is needed.", nameof(messages));
        }
        var prompt = _options.PromptFormatter is { } format
            ? format(list)
            : _engine.Manifest.Generation.ChatFormat == "raw"
                // Base models see only the last message's text (spec §5.1 raw format).
                ? _engine.Tokenizer.Encode(list[^1].Text)
                : ChatMessagePrompt.Build(list, _engine.Tokenizer, _options.DefaultSystemPrompt, _engine.Manifest.Generation.MaxWindowSize);
        var request = ChatOptionsMapper.ToRequest(prompt, options, _engine.Manifest.Generation);
        return request;
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
