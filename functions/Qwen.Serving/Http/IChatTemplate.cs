using Qwen.Inference.Constraints;
using Qwen.Inference.Tokenization;

namespace Qwen.Serving.Http;

/// <summary>Turns a chat request into the exact tokens the model sees (ChatML, or ReAct when tools are present) and reads tool calls back out of the reply.</summary>
/// <remarks>The implementation delegates to the engine's ChatML/ReAct formatter (Qwen.Inference.Chat); handlers never format prompts themselves.</remarks>
public interface IChatTemplate
{
    /// <summary>Renders the conversation with the caller's stop strings; throws <see cref="OpenAiException"/> (400) when it cannot be expressed (e.g. bad turn order).</summary>
    ChatPrompt Render(QwenTokenizer tokenizer, IReadOnlyList<ChatMessageInput> messages, IReadOnlyList<ToolDefinition> tools, IReadOnlyList<string> stop);

    /// <summary>Reads the model's ReAct text: a tool call (name + arguments) or the final answer; a call of a tool outside <paramref name="offeredTools"/> stays text.</summary>
    AssistantReply ParseReply(string generatedText, IReadOnlyCollection<string> offeredTools);

    /// <summary>The grammar of a reply that calls one of <paramref name="allowed"/> (tool_choice required or named), continuing <paramref name="prompt"/>.</summary>
    /// <exception cref="OpenAiException">400 when a tool's parameter schema is outside what constrained decoding supports.</exception>
    Grammar ToolCallGrammar(ChatPrompt prompt, IReadOnlyList<ToolDefinition> allowed, bool legacyFunctions);
}
