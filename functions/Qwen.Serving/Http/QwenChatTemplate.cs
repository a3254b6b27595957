using System.Text;
using Qwen.Inference.Tokenization;

namespace Qwen.Serving.Http;

/// <summary>ChatML (spec §5.1) and, with tools, the ReAct mapping of Qwen's reference OpenAI server (spec §6.3).</summary>
/// <remarks>
/// Background: the ChatML/ReAct formatter belongs in Qwen.Inference.Chat (engineer "tok"); this adapter is the API's
/// seam to it. Until that lands it renders here, piece by piece, exactly as the spec says: contents are always encoded
/// as plain text, control tokens are inserted as ids.
/// </remarks>
public sealed class QwenChatTemplate : IChatTemplate
{
    /// <summary>Qwen's default system prompt.</summary>
    public const string DefaultSystem = "You are a helpful assistant.";

    private const string ReActInstruction =
        "Answer the following questions as best you can. You have access to the following APIs:\n\n{0}\n\n" +
        "Use the following format:\n\n" +
        "Question: the input question you must answer\n" +
        "Thought: you should always think about what to do\n" +
        "Action: the action to take, should be one of [{1}]\n" +
        "Action Input: the input to the action\n" +
        "Observation: the result of the action\n" +
        "... (this Thought/Action/Action Input/Observation can be repeated zero or more times)\n" +
        "Thought: I now know the final answer\n" +
        "Final Answer: the final answer to the original input question\n\n" +
        "Begin!";

    /// <inheritdoc />
    public ChatPrompt Render(QwenTokenizer tokenizer, IReadOnlyList<ChatMessageInput> messages, IReadOnlyList<ToolDefinition> tools)
    {
        if (!messages.Any(m => m.Role == "user"))
        {
            throw OpenAiException.Invalid("messages", "'messages' must contain at least one user message.");
        }
        for (var i = 1; i < messages.Count; i++)
        {
            if (messages[i].Role == "system")
            {
                throw OpenAiException.Invalid($"messages[{i}].role", $"A system message is only allowed first; 'messages[{i}]' is a system message.");
            }
        }
        return tools.Count == 0 ? RenderChatMl(tokenizer, messages) : RenderReAct(tokenizer, messages, tools);
    }

    /// <inheritdoc />
    public AssistantReply ParseReply(string text)
    {
        // Spec §6.3 response mapping (HEAD): first occurrences, and the swallowed "Observation:" stop word is added back.
        var i = text.IndexOf("\nAction:", StringComparison.Ordinal);
        var j = text.IndexOf("\nAction Input:", StringComparison.Ordinal);
        var k = text.IndexOf("\nObservation:", StringComparison.Ordinal);
        if (0 <= i && i < j && k < j)
        {
            text = text.TrimEnd() + "\nObservation:";
            k = text.IndexOf("\nObservation:", StringComparison.Ordinal);
        }
        if (0 <= i && i < j && j < k)
        {
            var name = text[(i + "\nAction:".Length)..j].Trim();
            var args = text[(j + "\nAction Input:".Length)..k].Trim();
            var thought = text[..i];
            var t = thought.IndexOf("Thought: ", StringComparison.Ordinal);
            if (t >= 0)
            {
                thought = thought[(t + "Thought: ".Length)..];
            }
            thought = thought.Trim();
            return new AssistantReply(thought.Length == 0 ? null : thought, name, args);
        }
        var z = text.LastIndexOf("\nFinal Answer: ", StringComparison.Ordinal);
        return new AssistantReply(z >= 0 ? text[(z + "\nFinal Answer: ".Length)..].Trim() : text.Trim());
    }

    private static ChatPrompt RenderChatMl(QwenTokenizer tokenizer, IReadOnlyList<ChatMessageInput> messages)
    {
        var start = 0;
        var system = DefaultSystem;
        if (messages[0].Role == "system")
        {
            system = messages[0].Content ?? "";
            start = 1;
        }
        var tokens = new List<int>();
        AppendTurn(tokenizer, tokens, "system", system, close: true);
        for (var i = start; i < messages.Count; i++)
        {
            var m = messages[i];
            if (m.Role == "tool" || m.ToolCalls is { Count: > 0 })
            {
                throw OpenAiException.Invalid($"messages[{i}]", $"'messages[{i}]' is a tool call or tool result, but the request has no tools; send the tools the conversation used.");
            }
            tokens.Add(tokenizer.Encode("\n")[0]);
            AppendTurn(tokenizer, tokens, m.Role, m.Content ?? "", close: true);
        }
        tokens.AddRange(tokenizer.Encode("\n"));
        tokens.Add(QwenTokenizer.ImStartId);
        tokens.AddRange(tokenizer.Encode("assistant"));
        tokens.AddRange(tokenizer.Encode("\n"));
        return new ChatPrompt(tokens, [], UsesTools: false);
    }

    private static ChatPrompt RenderReAct(QwenTokenizer tokenizer, IReadOnlyList<ChatMessageInput> messages, IReadOnlyList<ToolDefinition> tools)
    {
        var start = 0;
        var system = DefaultSystem;
        if (messages[0].Role == "system")
        {
            system = Clean(messages[0].Content);
            start = 1;
        }
        var descriptions = tools.Select(t =>
            $"{t.Name}: Call this tool to interact with the {t.Name} API. What is the {t.Name} API useful for? {t.Description ?? ""} Parameters: {(t.ParametersJson is null ? "{}" : PythonJson.Dump(t.ParametersJson))}");
        var instruction = string.Format(System.Globalization.CultureInfo.InvariantCulture, ReActInstruction,
            string.Join("\n\n", descriptions), string.Join(", ", tools.Select(t => t.Name)));

        // Fold the OpenAI messages into alternating (user, assistant) turns, the way the reference server does.
        var turns = new List<(string Role, StringBuilder Text)>();
        for (var i = start; i < messages.Count; i++)
        {
            var m = messages[i];
            var content = Clean(m.Content);
            switch (m.Role)
            {
                case "user":
                    turns.Add(("user", new StringBuilder(content)));
                    break;
                case "assistant":
                {
                    if (turns.Count == 0)
                    {
                        throw OpenAiException.Invalid($"messages[{i}]", $"'messages[{i}]' is an assistant message before any user message.");
                    }
                    string text;
                    if (m.ToolCalls is { Count: > 0 } calls)
                    {
                        var sb = new StringBuilder(content.StartsWith("Thought:", StringComparison.Ordinal) ? content : ("Thought: " + content).TrimEnd());
                        foreach (var call in calls)
                        {
                            sb.Append("\nAction: ").Append(call.Name).Append("\nAction Input: ").Append(call.Arguments);
                        }
                        text = sb.ToString();
                    }
                    else
                    {
                        text = "Thought: I now know the final answer.\nFinal Answer: " + content;
                    }
                    if (turns[^1].Role == "assistant")
                    {
                        turns[^1].Text.Append('\n').Append(text);
                    }
                    else
                    {
                        turns.Add(("assistant", new StringBuilder(text)));
                    }
                    break;
                }
                case "tool":
                    if (turns.Count == 0 || turns[^1].Role != "assistant")
                    {
                        throw OpenAiException.Invalid($"messages[{i}]", $"'messages[{i}]' is a tool result that does not follow an assistant tool call.");
                    }
                    turns[^1].Text.Append("\nObservation: ").Append(content);
                    if (i == messages.Count - 1)
                    {
                        turns[^1].Text.Append("\nThought:");
                    }
                    break;
            }
        }

        string? query = null;
        if (turns[^1].Role == "user")
        {
            query = turns[^1].Text.ToString();
            turns.RemoveAt(turns.Count - 1);
        }
        if (turns.Count % 2 != 0)
        {
            throw OpenAiException.Invalid("messages", "The conversation must alternate user and assistant turns (tool results belong to the assistant turn before them).");
        }
        var history = new List<(string User, string Assistant)>();
        for (var t = 0; t < turns.Count; t += 2)
        {
            if (turns[t].Role != "user" || turns[t + 1].Role != "assistant")
            {
                throw OpenAiException.Invalid("messages", "The conversation must alternate user and assistant turns (tool results belong to the assistant turn before them).");
            }
            history.Add((Clean(turns[t].Text.ToString()), Clean(turns[t + 1].Text.ToString())));
        }
        // Exactly one user message carries the instruction: the last history turn's, else the current query (spec §6.3).
        if (history.Count > 0)
        {
            var last = history[^1];
            history[^1] = ($"{instruction}\n\nQuestion: {last.User}", last.Assistant);
        }
        else
        {
            query = $"{instruction}\n\nQuestion: {query}";
        }

        var nl = tokenizer.Encode("\n");
        var tokens = new List<int>();
        AppendTurn(tokenizer, tokens, "system", system, close: true);
        for (var h = 0; h < history.Count; h++)
        {
            var continuing = query is null && h == history.Count - 1;
            tokens.AddRange(nl);
            AppendTurn(tokenizer, tokens, "user", history[h].User, close: true);
            tokens.AddRange(nl);
            // Text-completion mode: the last assistant turn stays open so the model continues after "Thought:".
            AppendTurn(tokenizer, tokens, "assistant", history[h].Assistant, close: !continuing);
        }
        if (query is not null)
        {
            tokens.AddRange(nl);
            AppendTurn(tokenizer, tokens, "user", query, close: true);
            tokens.AddRange(nl);
            tokens.Add(QwenTokenizer.ImStartId);
            tokens.AddRange(tokenizer.Encode("assistant"));
            tokens.AddRange(nl);
        }
        return new ChatPrompt(tokens, ["Observation:"], UsesTools: true);
    }

    private static void AppendTurn(QwenTokenizer tokenizer, List<int> tokens, string role, string content, bool close)
    {
        tokens.Add(QwenTokenizer.ImStartId);
        tokens.AddRange(tokenizer.Encode(role));
        tokens.AddRange(tokenizer.Encode("\n"));
        tokens.AddRange(tokenizer.Encode(content));
        if (close)
        {
            tokens.Add(QwenTokenizer.ImEndId);
        }
    }

    // Python's content.lstrip("\n").rstrip(), which the reference applies to every content.
    private static string Clean(string? content) => (content ?? "").TrimStart('\n').TrimEnd();
}
