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
