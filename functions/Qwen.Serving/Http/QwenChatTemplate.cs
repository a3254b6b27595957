using Qwen.Inference.Chat;
using Qwen.Inference.Constraints;
using Qwen.Inference.Tokenization;

namespace Qwen.Serving.Http;

/// <summary>Adapts the API's validated messages to the engine's formatter (<see cref="QwenPromptFormatter"/>: ChatML, spec §5.1, and the ReAct mapping of Qwen's reference OpenAI server, spec §6.3) and its <see cref="ReActParser"/>.</summary>
public sealed class QwenChatTemplate : IChatTemplate
{
    /// <inheritdoc />
    public ChatPrompt Render(QwenTokenizer tokenizer, IReadOnlyList<ChatMessageInput> messages, IReadOnlyList<ToolDefinition> tools, IReadOnlyList<string> stop)
    {
        var converted = new List<QwenChatMessage>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            // Checked here rather than left to the formatter so the error can name the message at fault.
            if (i > 0 && m.Role == "system")
            {
                throw OpenAiException.Invalid($"messages[{i}].role", $"A system message is only allowed first; 'messages[{i}]' is a system message.");
            }
            if (tools.Count == 0 && (m.Role == "tool" || m.ToolCalls is { Count: > 0 }))
            {
                throw OpenAiException.Invalid($"messages[{i}]", $"'messages[{i}]' is a tool call or tool result, but the request has no tools; send the tools the conversation used.");
            }
            if (m.ToolCalls is { Count: > 1 })
            {
                throw OpenAiException.Invalid($"messages[{i}].tool_calls", $"'messages[{i}]' has {m.ToolCalls.Count} tool calls; Qwen-7B's ReAct format carries one call per assistant message.");
            }
            var role = m.Role switch
            {
                "system" => QwenChatRole.System,
                "user" => QwenChatRole.User,
                "assistant" => QwenChatRole.Assistant,
                _ => QwenChatRole.Tool,
            };
            converted.Add(new QwenChatMessage(role, m.Content, m.ToolCalls?.Select(c => new QwenToolCall(c.Name, c.Arguments, c.Id)).ToArray(), m.Name, m.ToolCallId));
        }
        var definitions = tools.Select(t => new QwenToolDefinition(t.Name, t.Description, t.ParametersJson)).ToArray();
        QwenPrompt prompt;
        try
        {
            prompt = new QwenPromptFormatter(tokenizer).Format(converted, definitions, stop);
        }
        catch (InvalidChatRequestException ex)
        {
            throw OpenAiException.Invalid("messages", ex.Message);
        }
        return new ChatPrompt(prompt.PromptTokens, prompt.StopStrings, prompt.HasTools, prompt.IsCompletionMode ? OpenAssistantText(prompt.RawText) : "");
    }

    /// <inheritdoc />
    public AssistantReply ParseReply(string generatedText, IReadOnlyCollection<string> offeredTools)
    {
        var step = ReActParser.ParseOpenAiResponse(generatedText, offeredTools);
        return step.IsToolCall
            ? new AssistantReply(string.IsNullOrEmpty(step.Content) ? null : step.Content, step.ToolName, step.ArgumentsJson ?? step.RawArguments)
            : new AssistantReply(step.Content);
    }

    /// <inheritdoc />
    public Grammar ToolCallGrammar(ChatPrompt prompt, IReadOnlyList<ToolDefinition> allowed, bool legacyFunctions)
    {
        try
        {
            return ReActGrammar.ToolCall(allowed.Select(t => new QwenToolDefinition(t.Name, t.Description, t.ParametersJson)).ToArray(), prompt.AssistantSoFar);
        }
        catch (UnsupportedSchemaException ex)
        {
            var field = legacyFunctions ? "functions" : "tools";
            throw OpenAiException.Invalid(field,
                $"{ex.Message} ('{ex.Keyword}' at '{(ex.Path.Length == 0 ? "/" : ex.Path)}'): a forced tool call constrains the arguments to the schema, and this keyword is not supported; use tool_choice \"auto\" or drop the keyword.",
                "unsupported_schema");
        }
    }

    // The text after the last "<|im_start|>assistant\n" of a completion-mode prompt: the assistant turn the model continues.
    private static string OpenAssistantText(string rawText)
    {
        const string Marker = QwenTokenizer.ImStart + "assistant\n";
        var at = rawText.LastIndexOf(Marker, StringComparison.Ordinal);
        return at < 0 ? "" : rawText[(at + Marker.Length)..];
    }
}
