using System.Text;
using Qwen.Inference.Chat;

namespace Qwen.Serving.Http;

/// <summary>
/// Reads one choice's ReAct text as it streams and says what to send: final-answer text as it arrives, or a tool call as
/// OpenAI streams one (name first, then argument deltas), decided by the same first-occurrence rules as
/// <see cref="ReActParser.ParseOpenAiResponse(string, IReadOnlyCollection{string})"/>.
/// </summary>
/// <remarks>
/// Text is held back until the reply is known: a tool call once <c>\nAction Input:</c> follows <c>\nAction: {offered name}</c>,
/// a final answer once <c>\nFinal Answer: </c> comes before any <c>\nAction:</c>. JSON arguments are sent without the
/// whitespace between tokens, so strict JSON streams as the compact JSON the non-streamed reply carries (that one also
/// repairs lenient JSON such as single quotes, which the stream cannot know to do in advance).
/// Not thread-safe: one per choice.
/// </remarks>
internal sealed class ReActReplyStream(IReadOnlyCollection<string> offeredTools, IChatTemplate template)
{
    private const string ActionMarker = "\nAction:";
    private const string InputMarker = "\nAction Input:";
    private const string FinalAnswerMarker = "\nFinal Answer: ";

    private readonly StringBuilder _text = new();
    private Phase _phase;
    private int _sent;
    private ArgumentsForm _arguments;
    private char _quote;
    private bool _escaped;

    private enum Phase
    {
        Undecided,
        Answering,
        Arguments,
    }

    private enum ArgumentsForm
    {
        Unknown,
        Json,
        Text,
    }

    /// <summary>True once the reply is known to be a tool call.</summary>
    public bool IsToolCall => _phase == Phase.Arguments;

    /// <summary>Adds a text delta; returns what can be sent now.</summary>
    public IReadOnlyList<ReplyEvent> Append(string delta)
    {
        _text.Append(delta);
        var events = new List<ReplyEvent>();
        if (_phase == Phase.Undecided)
        {
            var all = _text.ToString();
            var i = all.IndexOf(ActionMarker, StringComparison.Ordinal);
            var j = all.IndexOf(InputMarker, StringComparison.Ordinal);
            if (0 <= i && i < j)
            {
                var name = PythonText.Strip(all[(i + ActionMarker.Length)..j]);
                if (name.Length > 0 && offeredTools.Contains(name))
                {
                    var thought = all[..i];
                    var t = thought.IndexOf("Thought: ", StringComparison.Ordinal);
                    if (t >= 0)
                    {
                        thought = thought[(t + "Thought: ".Length)..];
                    }
                    thought = PythonText.Strip(thought);
                    events.Add(new ReplyEvent(ReplyEventKind.ToolCall, thought.Length == 0 ? null : thought, name));
                    _phase = Phase.Arguments;
                    _sent = j + InputMarker.Length;
                }
            }
            var at = all.IndexOf(FinalAnswerMarker, StringComparison.Ordinal);
            if (_phase == Phase.Undecided && at >= 0 && (i < 0 || i > at))
            {
                _phase = Phase.Answering;
                _sent = at + FinalAnswerMarker.Length;
            }
        }
        if (_phase == Phase.Answering && _text.Length > _sent)
        {
            events.Add(new ReplyEvent(ReplyEventKind.Content, _text.ToString(_sent, _text.Length - _sent)));
            _sent = _text.Length;
        }
        else if (_phase == Phase.Arguments && NextArguments() is { Length: > 0 } arguments)
        {
            events.Add(new ReplyEvent(ReplyEventKind.Arguments, arguments));
        }
        return events;
    }

    // The argument text that can be sent now. JSON (starting with { or [) is sent without the whitespace between its tokens,
    // which is what the non-streamed reply's compact form drops too; other text is sent as written, stripped.
    private string NextArguments()
    {
        if (_arguments == ArgumentsForm.Unknown)
        {
            while (_sent < _text.Length && PythonText.IsSpace(_text[_sent]))
            {
                _sent++;
            }
            if (_sent == _text.Length)
            {
                return "";
            }
            _arguments = _text[_sent] is '{' or '[' ? ArgumentsForm.Json : ArgumentsForm.Text;
        }
        if (_arguments == ArgumentsForm.Text)
        {
            // Trailing whitespace waits until more text follows it (the parser strips it).
            var end = _text.Length;
            while (end > _sent && PythonText.IsSpace(_text[end - 1]))
            {
                end--;
            }
            var text = _text.ToString(_sent, end - _sent);
            _sent = end;
            return text;
        }
        var json = new StringBuilder();
        for (; _sent < _text.Length; _sent++)
        {
            var c = _text[_sent];
            if (_quote != '\0')
            {
                json.Append(c);
                if (_escaped)
                {
                    _escaped = false;
                }
                else if (c == '\\')
                {
                    _escaped = true;
                }
                else if (c == _quote)
                {
                    _quote = '\0';
                }
            }
            else if (c is '"' or '\'')
            {
                _quote = c;
                json.Append(c);
            }
            else if (!PythonText.IsSpace(c))
            {
                json.Append(c);
            }
        }
        return json.ToString();
    }

    /// <summary>At the end of the choice: what is still to send (a reply that never showed its kind is parsed whole).</summary>
    public IReadOnlyList<ReplyEvent> Complete()
    {
        if (_phase != Phase.Undecided)
        {
            return [];
        }
        var reply = template.ParseReply(_text.ToString(), offeredTools);
        if (reply.IsToolCall)
        {
            // Unreachable with the engine's own stop strings (the call is seen as it streams); kept so the stream never loses a call.
            _phase = Phase.Arguments;
            return [new ReplyEvent(ReplyEventKind.ToolCall, reply.Content, reply.ToolName), new ReplyEvent(ReplyEventKind.Arguments, reply.ToolArguments ?? "{}")];
        }
        return string.IsNullOrEmpty(reply.Content) ? [] : [new ReplyEvent(ReplyEventKind.Content, reply.Content)];
    }
}
