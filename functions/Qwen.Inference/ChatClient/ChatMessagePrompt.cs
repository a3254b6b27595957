using System.Text.Json;
using Microsoft.Extensions.AI;
using Qwen.Inference.Chat;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.ChatClient;

/// <summary>Turns Microsoft.Extensions.AI chat messages into a Qwen ChatML prompt through <see cref="ChatMlPromptBuilder"/> (spec §5.1).</summary>
public static class ChatMessagePrompt
{
    /// <summary>Prompt ids for <paramref name="messages"/>: system text, then user/assistant pairs as history, the last user message as the query.</summary>
    /// <remarks>
    /// The usual shape (system*, then alternating user/assistant, ending with a user message) goes through the reference
    /// <c>make_context</c> rules, history window included. Any other shape (tool messages, two users in a row) is rendered
    /// turn by turn with the same piecewise encoding, all turns kept. Content is always plain text, so a user typing
    /// <c>&lt;|im_start|&gt;</c> never produces the control id.
    /// </remarks>
    public static IReadOnlyList<int> Build(IReadOnlyList<ChatMessage> messages, QwenTokenizer tokenizer, string defaultSystemPrompt, int maxWindowSize = ChatMlPromptBuilder.DefaultMaxWindowSize)
    {
        var system = string.Join("\n", messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text));
        if (system.Length == 0)
        {
            system = defaultSystemPrompt;
        }
        var turns = messages.Where(m => m.Role != ChatRole.System).ToList();
        var builder = new ChatMlPromptBuilder(tokenizer);
        if (TryPairs(turns, out var history, out var query))
        {
            return builder.Build(query, history, system, maxWindowSize).Tokens;
        }
        var tokens = new List<int>();
        Block(tokens, tokenizer, "system", system);
        foreach (var message in turns)
        {
            tokens.Add(198);
            Block(tokens, tokenizer, message.Role.Value, message.Text);
        }
        tokens.Add(198);
        tokens.Add(QwenTokenizer.ImStartId);
        tokens.AddRange(tokenizer.Encode("assistant"));
        tokens.Add(198);
        return tokens;
    }

    /// <summary>
    /// The ReAct prompt for a conversation with tools, exactly as the HTTP API builds it (<see cref="QwenPromptFormatter"/>,
    /// spec §6.3): the tool descriptions and instruction in the last user turn, an assistant's <see cref="FunctionCallContent"/>
    /// as <c>Thought / Action / Action Input</c>, a <see cref="FunctionResultContent"/> as <c>Observation:</c> on that turn.
    /// </summary>
    /// <param name="messages">The conversation, oldest first; every system message's text is joined into the one system prompt.</param>
    /// <param name="tools">The functions offered (at least one).</param>
    /// <param name="stop">The caller's stop strings (<c>Observation:</c> is added).</param>
    /// <param name="tokenizer">The engine's tokenizer.</param>
    /// <param name="defaultSystemPrompt">System prompt when the messages carry none.</param>
    /// <param name="maxWindowSize">History window in tokens.</param>
    /// <exception cref="ArgumentException">An assistant message holds more than one function call (Qwen-7B's ReAct format carries one per turn).</exception>
    /// <exception cref="InvalidChatRequestException">The conversation breaks the reference's turn rules.</exception>
    public static QwenPrompt BuildReAct(
        IReadOnlyList<ChatMessage> messages,
        IReadOnlyList<QwenToolDefinition> tools,
        IReadOnlyList<string>? stop,
        QwenTokenizer tokenizer,
        string defaultSystemPrompt,
        int maxWindowSize = ChatMlPromptBuilder.DefaultMaxWindowSize)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var system = string.Join("\n", messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text));
        var converted = new List<QwenChatMessage> { QwenChatMessage.System(system.Length > 0 ? system : defaultSystemPrompt) };
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role == ChatRole.System)
            {
                continue;
            }
            var calls = message.Contents.OfType<FunctionCallContent>().ToList();
            var results = message.Contents.OfType<FunctionResultContent>().ToList();
            if (calls.Count > 1)
            {
                throw new ArgumentException($"Message {i} holds {calls.Count} function calls; Qwen-7B's ReAct format carries one call per assistant turn.", nameof(messages));
            }
            if (calls.Count == 1)
            {
                var call = calls[0];
                // Compact, as a model-written Action Input would be (the serializer's defaults may indent).
                var json = JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions);
                var arguments = LenientJson.TryNormalize(json) ?? json;
                converted.Add(QwenChatMessage.AssistantToolCall(message.Text, call.Name, arguments, call.CallId));
            }
            else if (results.Count > 0)
            {
                // Each result is the Observation of the call before it (the reference matches results to calls by order).
                converted.AddRange(results.Select(r => QwenChatMessage.Tool(ResultText(r.Result), r.CallId)));
            }
            else
            {
                var role = message.Role == ChatRole.Assistant ? QwenChatRole.Assistant : message.Role == ChatRole.Tool ? QwenChatRole.Tool : QwenChatRole.User;
                converted.Add(new QwenChatMessage(role, message.Text));
            }
        }
        return new QwenPromptFormatter(tokenizer).Format(converted, tools, stop, maxWindowSize);
    }

    /// <summary>A function result as Observation text: strings as they are, anything else as JSON.</summary>
    public static string ResultText(object? result) => result switch
    {
        null => "",
        string text => text,
        JsonElement element => element.ValueKind == JsonValueKind.String ? element.GetString() ?? "" : element.GetRawText(),
        _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions.GetTypeInfo(result.GetType())),
    };

    private static bool TryPairs(List<ChatMessage> turns, out List<ChatTurn> history, out string query)
    {
        history = [];
        query = "";
        if (turns.Count == 0 || turns.Count % 2 == 0 || turns[^1].Role != ChatRole.User)
        {
            return false;
        }
        for (var i = 0; i + 1 < turns.Count; i += 2)
        {
            if (turns[i].Role != ChatRole.User || turns[i + 1].Role != ChatRole.Assistant)
            {
                return false;
            }
            history.Add(new ChatTurn(turns[i].Text, turns[i + 1].Text));
        }
        query = turns[^1].Text;
        return true;
    }

    private static void Block(List<int> tokens, QwenTokenizer tokenizer, string role, string content)
    {
        tokens.Add(QwenTokenizer.ImStartId);
        tokens.AddRange(tokenizer.Encode(role));
        tokens.Add(198);
        tokens.AddRange(tokenizer.Encode(content));
        tokens.Add(QwenTokenizer.ImEndId);
    }
}
