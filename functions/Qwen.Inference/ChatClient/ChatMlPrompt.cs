using Microsoft.Extensions.AI;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.ChatClient;

/// <summary>Builds a ChatML prompt from chat messages, piece by piece as Qwen's <c>make_context</c> does (spec §5.1).</summary>
public static class ChatMlPrompt
{
    /// <summary>Token ids of <c>system</c>, every non-system message as a turn, then the open assistant header.</summary>
    /// <remarks>
    /// Content is always encoded as plain text, so a user typing <c>&lt;|im_start|&gt;</c> never produces the special id.
    /// For the usual system/user/assistant alternation this equals make_context with the whole history kept.
    /// </remarks>
    public static IReadOnlyList<int> Build(IReadOnlyList<ChatMessage> messages, QwenTokenizer tokenizer, string defaultSystemPrompt)
    {
        var system = string.Join("\n", messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text));
        if (system.Length == 0)
        {
            system = defaultSystemPrompt;
        }
        var tokens = new List<int>();
        var newline = tokenizer.Encode("\n");
        Turn(tokens, tokenizer, newline, "system", system);
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.System)
            {
                continue;
            }
            tokens.AddRange(newline);
            Turn(tokens, tokenizer, newline, message.Role.Value, message.Text);
        }
        tokens.AddRange(newline);
        tokens.Add(QwenTokenizer.ImStartId);
        tokens.AddRange(tokenizer.Encode("assistant"));
        tokens.AddRange(newline);
        return tokens;
    }

    private static void Turn(List<int> tokens, QwenTokenizer tokenizer, IReadOnlyList<int> newline, string role, string content)
    {
        tokens.Add(QwenTokenizer.ImStartId);
        tokens.AddRange(tokenizer.Encode(role));
        tokens.AddRange(newline);
        tokens.AddRange(tokenizer.Encode(content));
        tokens.Add(QwenTokenizer.ImEndId);
    }
}
