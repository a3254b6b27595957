namespace Qwen.Inference.Chat;

/// <summary>Parses ReAct model output (Thought / Action / Action Input / Observation / Final Answer), spec §6.1 and §6.3.</summary>
public static class ReActParser
{
    private const string ActionMarker = "\nAction:";
    private const string InputMarker = "\nAction Input:";
    private const string ObservationMarker = "\nObservation:";
    private const string FinalAnswerMarker = "\nFinal Answer: ";

    /// <summary>
    /// openai_api.py <c>parse_response</c> (HEAD): first occurrences of the markers; an Action Input without a following
    /// Observation (the stop word was swallowed) runs to the end; the content of a tool call is its Thought; otherwise the
    /// text after the last <c>"\nFinal Answer: "</c>, or the whole text.
    /// </summary>
    public static ReActStep ParseOpenAiResponse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int i = text.IndexOf(ActionMarker, StringComparison.Ordinal);
        int j = text.IndexOf(InputMarker, StringComparison.Ordinal);
        if (0 <= i && i < j)
        {
            var (name, args) = Slice(text, i, j, t => t.IndexOf(ObservationMarker, StringComparison.Ordinal));
            if (name.Length > 0)
            {
                var content = text[..i];
                int t = content.IndexOf("Thought: ", StringComparison.Ordinal);
                if (t >= 0) content = content[(t + "Thought: ".Length)..];
                return new ReActStep(PythonText.Strip(content), name, args, LenientJson.TryNormalize(args));
            }
        }
        int z = text.LastIndexOf(FinalAnswerMarker, StringComparison.Ordinal);
        return new ReActStep(z >= 0 ? text[(z + FinalAnswerMarker.Length)..] : text, null, null, null);
    }

    /// <summary>
    /// <see cref="ParseOpenAiResponse(string)"/>, except that a call naming a tool outside <paramref name="offeredTools"/> is
    /// not a call: the reply is text (after the last <c>"\nFinal Answer: "</c>, or the whole text), so a tool result or document
    /// that says <c>Action: delete_account</c> never becomes a call of a function nobody offered.
    /// </summary>
    public static ReActStep ParseOpenAiResponse(string text, IReadOnlyCollection<string> offeredTools)
    {
        ArgumentNullException.ThrowIfNull(offeredTools);
        var step = ParseOpenAiResponse(text);
        if (!step.IsToolCall || offeredTools.Contains(step.ToolName!))
        {
            return step;
        }
        int z = text.LastIndexOf(FinalAnswerMarker, StringComparison.Ordinal);
        return new ReActStep(z >= 0 ? text[(z + FinalAnswerMarker.Length)..] : text, null, null, null);
    }

    /// <summary>
    /// react_prompt.md / react_demo.py <c>parse_latest_plugin_call</c>: the last Action / Action Input (rfind), with the
    /// same swallowed-Observation fix. Content is the text before the Action (its Thought), or the Final Answer when
    /// there is no call.
    /// </summary>
    public static ReActStep ParseLatestToolCall(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int i = text.LastIndexOf(ActionMarker, StringComparison.Ordinal);
        int j = text.LastIndexOf(InputMarker, StringComparison.Ordinal);
        if (0 <= i && i < j)
        {
            var (name, args) = Slice(text, i, j, t => t.LastIndexOf(ObservationMarker, StringComparison.Ordinal));
            if (name.Length > 0)
            {
                return new ReActStep(PythonText.Strip(text[..i]), name, args, LenientJson.TryNormalize(args));
            }
        }
        int z = text.LastIndexOf(FinalAnswerMarker, StringComparison.Ordinal);
        return new ReActStep(PythonText.Strip(z >= 0 ? text[(z + FinalAnswerMarker.Length)..] : text), null, null, null);
    }

    private static (string Name, string Args) Slice(string text, int i, int j, Func<string, int> findObservation)
    {
        int k = findObservation(text);
        if (k < j)
        {
            // The stop word was generated but cut off (or never written): add it back.
            text = PythonText.RStrip(text) + ObservationMarker;
            k = findObservation(text);
        }
        var name = PythonText.Strip(PySlice(text, i + ActionMarker.Length, j));
        var args = PythonText.Strip(PySlice(text, j + InputMarker.Length, k));
        return (name, args);
    }

    // Python's text[start:end] (empty when end <= start).
    private static string PySlice(string text, int start, int end)
    {
        end = Math.Min(end, text.Length);
        return end <= start ? string.Empty : text[start..end];
    }
}
