using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Chat;

/// <summary>
/// Maps an OpenAI-style conversation (messages, tools, stop strings) to a Qwen-7B-Chat prompt exactly as the reference
/// <c>openai_api.py</c> does (spec §6.3), and builds the react_demo.py multi-turn prompt (§6.2).
/// </summary>
/// <remarks>
/// Rules reproduced: the first system message (stripped) or "You are a helpful assistant."; tools rendered with
/// TOOL_DESC and REACT_INSTRUCTION; the instruction goes into the user message of the last history pair, or into the
/// query when there is no history; assistant tool calls become <c>Thought/Action/Action Input</c>; tool results become
/// <c>\nObservation: …</c> on the preceding assistant turn; consecutive assistant messages merge with <c>\n</c>; a
/// conversation ending with an assistant or tool turn is a text completion of that turn (<c>\nThought:</c> after a final
/// tool result); every content is <c>lstrip('\n').rstrip()</c>-ed. Unlike the reference, control tokens are always
/// ids and contents plain text, also in completion mode. Thread-safe.
/// </remarks>
public sealed class QwenPromptFormatter
{
    private readonly ChatMlPromptBuilder _builder;

    /// <summary>Creates a formatter over the Qwen tokenizer.</summary>
    public QwenPromptFormatter(QwenTokenizer tokenizer) => _builder = new ChatMlPromptBuilder(tokenizer);

    /// <summary>The ChatML builder used underneath.</summary>
    public ChatMlPromptBuilder ChatMl => _builder;

    /// <summary>Builds the prompt for an OpenAI-style chat request.</summary>
    /// <param name="messages">The conversation, oldest first.</param>
    /// <param name="tools">Tools offered to the model (none: plain chat).</param>
    /// <param name="stop">The request's stop strings.</param>
    /// <param name="maxWindowSize">History window in tokens (chat mode only, as the reference).</param>
    /// <remarks>The reference rejects streaming when tools are offered (the output must be parsed whole); hosts should too.</remarks>
    /// <exception cref="InvalidChatRequestException">The conversation breaks the reference's rules; the message says which.</exception>
    public QwenPrompt Format(
        IReadOnlyList<QwenChatMessage> messages,
        IReadOnlyList<QwenToolDefinition>? tools = null,
        IReadOnlyList<string>? stop = null,
        int maxWindowSize = ChatMlPromptBuilder.DefaultMaxWindowSize)
    {
        ArgumentNullException.ThrowIfNull(messages);
        bool hasTools = tools is { Count: > 0 };
        if (!messages.Any(m => m.Role == QwenChatRole.User))
        {
            throw new InvalidChatRequestException("Invalid request: Expecting at least one user message.");
        }

        int first = 0;
        string system = ChatMlPromptBuilder.DefaultSystem;
        if (messages[0].Role == QwenChatRole.System)
        {
            system = PythonText.LStripNewlinesRStrip(messages[0].Content);
            first = 1;
        }
        string instruction = hasTools ? ReActTemplates.OpenAiInstruction(tools!) : string.Empty;

        var merged = Merge(messages, first, hasTools);
        string? query = null;
        if (merged[^1].Role == QwenChatRole.User)
        {
            query = merged[^1].Content;
            merged.RemoveAt(merged.Count - 1);
        }
        if (merged.Count % 2 != 0)
        {
            throw new InvalidChatRequestException("Invalid request: history must alternate user and assistant messages.");
        }
        var history = new List<ChatTurn>(merged.Count / 2);
        for (int i = 0; i < merged.Count; i += 2)
        {
            if (merged[i].Role != QwenChatRole.User || merged[i + 1].Role != QwenChatRole.Assistant)
            {
                throw new InvalidChatRequestException("Invalid request: Expecting exactly one user (or function) role before every assistant role.");
            }
            var user = PythonText.LStripNewlinesRStrip(merged[i].Content);
            var assistant = PythonText.LStripNewlinesRStrip(merged[i + 1].Content);
            if (instruction.Length > 0 && i == merged.Count - 2)
            {
                user = $"{instruction}\n\nQuestion: {user}";
                instruction = string.Empty;
            }
            history.Add(new ChatTurn(user, assistant));
        }

        var stops = StopStrings(stop, hasTools);
        if (query is null)
        {
            var completion = _builder.BuildCompletion(history, system);
            return new QwenPrompt(completion.Tokens, completion.RawText, stops, IsCompletionMode: true, hasTools);
        }
        if (instruction.Length > 0) query = $"{instruction}\n\nQuestion: {query}";
        var chat = _builder.Build(query, history, system, maxWindowSize);
        return new QwenPrompt(chat.Tokens, chat.RawText, stops, IsCompletionMode: false, hasTools);
    }

    /// <summary>
    /// react_demo.py's prompt (§6.2): fixed default system, the §6.2 instruction in the user message of the last turn
    /// (one turn) or the second-to-last, every text stripped, the final assistant turn left open for the model.
    /// </summary>
    /// <param name="history">Earlier turns, oldest first.</param>
    /// <param name="query">The current question.</param>
    /// <param name="tools">The tools (at least one).</param>
    /// <param name="assistantSoFar">Assistant text of the current turn generated so far (Thought/Action/Observation rounds).</param>
    public ChatMlPrompt FormatReactDemo(IReadOnlyList<ChatTurn> history, string query, IReadOnlyList<QwenToolDefinition> tools, string assistantSoFar = "")
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(tools);
        var turns = history.Append(new ChatTurn(query, assistantSoFar)).ToList();
        var result = new List<ChatTurn>(turns.Count);
        for (int i = 0; i < turns.Count; i++)
        {
            var user = turns[i].User;
            if (tools.Count > 0 && (turns.Count == 1 || i == turns.Count - 2))
            {
                user = ReActTemplates.ReactDemoPrompt(tools, user);
            }
            result.Add(new ChatTurn(PythonText.LStripNewlinesRStrip(user), PythonText.LStripNewlinesRStrip(turns[i].Assistant)));
        }
        return _builder.BuildCompletion(result, ChatMlPromptBuilder.DefaultSystem);
    }

    /// <summary>Cuts <paramref name="text"/> at the first occurrence of each stop string, in order (reference <c>trim_stop_words</c>).</summary>
    public static string TrimAtStopStrings(string text, IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var s in stops)
        {
            if (s.Length == 0) continue;
            int idx = text.IndexOf(s, StringComparison.Ordinal);
            if (idx >= 0) text = text[..idx];
        }
        return text;
    }

    /// <summary>The request's stops, then copies without leading <c>\n</c>, then <c>Observation:</c> when tools are offered.</summary>
    public static IReadOnlyList<string> StopStrings(IReadOnlyList<string>? stop, bool hasTools)
    {
        var result = new List<string>();
        if (stop is { Count: > 0 })
        {
            result.AddRange(stop);
            foreach (var s in stop)
            {
                var trimmed = s.TrimStart('\n');
                if (trimmed.Length > 0 && !result.Contains(trimmed)) result.Add(trimmed);
            }
        }
        if (hasTools && !result.Contains("Observation:")) result.Add("Observation:");
        return result;
    }

    private static List<(QwenChatRole Role, string Content)> Merge(IReadOnlyList<QwenChatMessage> messages, int first, bool hasTools)
    {
        var merged = new List<(QwenChatRole Role, string Content)>();
        for (int idx = first; idx < messages.Count; idx++)
        {
            var m = messages[idx];
            var content = PythonText.LStripNewlinesRStrip(m.Content);
            switch (m.Role)
            {
                case QwenChatRole.Tool:
                    if (merged.Count == 0 || merged[^1].Role != QwenChatRole.Assistant)
                    {
                        throw new InvalidChatRequestException("Invalid request: Expecting role assistant before role function.");
                    }
                    var withObservation = merged[^1].Content + $"\nObservation: {content}";
                    if (idx == messages.Count - 1) withObservation += "\nThought:";
                    merged[^1] = (QwenChatRole.Assistant, withObservation);
                    break;
                case QwenChatRole.Assistant:
                    if (merged.Count == 0)
                    {
                        throw new InvalidChatRequestException("Invalid request: Expecting role user before role assistant.");
                    }
                    if (m.ToolCalls is { Count: > 1 })
                    {
                        throw new InvalidChatRequestException(
                            $"Invalid request: an assistant message has {m.ToolCalls.Count} tool calls; Qwen-7B's ReAct format carries one per assistant message.");
                    }
                    if (m.ToolCalls is { Count: 1 })
                    {
                        var call = m.ToolCalls[0];
                        if (!content.StartsWith("Thought:", StringComparison.Ordinal)) content = $"Thought: {content}";
                        content = $"{content}\nAction: {call.Name}\nAction Input: {call.Arguments}";
                    }
                    else if (hasTools)
                    {
                        content = $"Thought: I now know the final answer.\nFinal Answer: {content}";
                    }
                    if (merged[^1].Role == QwenChatRole.User)
                    {
                        merged.Add((QwenChatRole.Assistant, PythonText.LStripNewlinesRStrip(content)));
                    }
                    else
                    {
                        merged[^1] = (QwenChatRole.Assistant, merged[^1].Content + "\n" + content);
                    }
                    break;
                case QwenChatRole.User:
                    merged.Add((QwenChatRole.User, content));
                    break;
                default:
                    throw new InvalidChatRequestException($"Invalid request: Incorrect role {m.Role.ToString().ToLowerInvariant()} (a system message is only allowed first).");
            }
        }
        return merged;
    }
}
