using Microsoft.Extensions.AI;

namespace Qwen.Inference.ChatClient;

/// <summary>Settings of <see cref="QwenChatClient"/>.</summary>
public sealed record QwenChatClientOptions
{
    /// <summary>System prompt used when the messages carry none (Qwen's default, spec §5.1).</summary>
    public string DefaultSystemPrompt { get; init; } = "You are a helpful assistant.";

    /// <summary>Turns messages into prompt token ids; null uses ChatML (spec §5.1) with the engine's tokenizer.</summary>
    public Func<IReadOnlyList<ChatMessage>, IReadOnlyList<int>>? PromptFormatter { get; init; }
}
