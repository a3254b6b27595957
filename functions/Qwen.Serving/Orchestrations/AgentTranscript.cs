using System.Text;
using Qwen.Inference.Chat;

namespace Qwen.Serving.Orchestrations;

/// <summary>The assistant side of a ReAct run (Thought/Action/Observation…), kept under a size budget by eliding the oldest observations first.</summary>
/// <remarks>
/// Tool output is usually what grows a run past the context (a page of search results, a file), and the model needs
/// its own latest steps more than an old observation, so observations go first, oldest first, each replaced by a
/// short marker. Deterministic (no clock, no I/O): safe inside an orchestrator.
/// </remarks>
public sealed class AgentTranscript(int maxChars)
{
    /// <summary>What an elided observation becomes.</summary>
    public const string ElidedObservation = "(earlier observation elided to keep the transcript within the context)";

    private readonly List<(string Text, bool IsObservation)> _pieces = [];

    /// <summary>The transcript as the model continues it.</summary>
    public string Text
    {
        get
        {
            var builder = new StringBuilder();
            foreach (var (text, _) in _pieces)
            {
                builder.Append(text);
            }
            return builder.ToString();
        }
    }

    /// <summary>Appends what the model generated this round.</summary>
    public void AddModelText(string text) => _pieces.Add((text, false));

    /// <summary>Appends a tool's observation and the <c>Thought:</c> cue (the previous text loses its trailing white space, as react_demo.py does).</summary>
    public void AddObservation(string observation)
    {
        if (_pieces.Count > 0 && !_pieces[^1].IsObservation)
        {
            _pieces[^1] = (_pieces[^1].Text.TrimEnd(), false);
        }
        _pieces.Add((ReActTemplates.ObservationContinuation(observation), true));
    }

    /// <summary>Elides observations, oldest first, until the text fits the budget.</summary>
    /// <returns>False when it cannot fit even with every observation elided.</returns>
    public bool Fit()
    {
        var length = _pieces.Sum(p => p.Text.Length);
        var elided = ReActTemplates.ObservationContinuation(ElidedObservation);
        for (var i = 0; i < _pieces.Count && length > maxChars; i++)
        {
            if (_pieces[i].IsObservation && _pieces[i].Text != elided)
            {
                length += elided.Length - _pieces[i].Text.Length;
                _pieces[i] = (elided, true);
            }
        }
        return length <= maxChars;
    }
}
