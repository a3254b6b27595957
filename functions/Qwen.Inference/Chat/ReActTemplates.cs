using System.Text;

namespace Qwen.Inference.Chat;

/// <summary>The ReAct prompt texts of the Qwen repository, word for word (spec §6.1–§6.3).</summary>
public static class ReActTemplates
{
    /// <summary>§6.2 sentence for tools whose arguments are JSON.</summary>
    public const string JsonArgsSentence = " Format the arguments as a JSON object.";

    /// <summary>§6.2 sentence for tools whose argument is code.</summary>
    public const string CodeArgsSentence = " Enclose the code within triple backticks (`) at the beginning and end of the code.";

    /// <summary>The stop strings the ReAct loop generates up to (react_prompt.md).</summary>
    public static IReadOnlyList<string> StopWords { get; } = ["Observation:", "Observation:\n"];

    /// <summary>TOOL_DESC without a format sentence (openai_api.py; §6.2 adds a sentence per tool).</summary>
    public static string ToolDescription(QwenToolDefinition tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        var parameters = PythonJson.Dumps(tool.ParametersJson ?? "{}");
        return $"{tool.ModelName}: Call this tool to interact with the {tool.HumanName} API. What is the {tool.HumanName} API useful for? {tool.ModelDescription} Parameters: {parameters}";
    }

    /// <summary>
    /// §6.1 react_prompt.md: the whole user query with tools ("You have access to the following tools:", names joined
    /// with ",", each description followed by " Format the arguments as a JSON object.", ending "Question: {query}").
    /// </summary>
    public static string ReactPrompt(IReadOnlyList<QwenToolDefinition> tools, string query)
    {
        var descs = string.Join("\n\n", tools.Select(t => ToolDescription(t) + JsonArgsSentence));
        var names = string.Join(",", tools.Select(t => t.ModelName));
        return Instruction("tools", descs, names) + "\n\nQuestion: " + query;
    }

    /// <summary>
    /// §6.2 react_demo.py: the instruction + question ("following APIs:", names joined with ", ", a format sentence per
    /// tool: JSON by default, code when <paramref name="codeArgs"/> says so for that tool).
    /// </summary>
    public static string ReactDemoPrompt(IReadOnlyList<QwenToolDefinition> tools, string query, Func<QwenToolDefinition, bool>? codeArgs = null)
    {
        var descs = string.Join("\n\n", tools.Select(t => ToolDescription(t) + (codeArgs?.Invoke(t) == true ? CodeArgsSentence : JsonArgsSentence)));
        var names = string.Join(", ", tools.Select(t => t.ModelName));
        return Instruction("APIs", descs, names) + "\n\nQuestion: " + query;
    }

    /// <summary>§6.3 openai_api.py REACT_INSTRUCTION: "following APIs:", names joined with ", ", no format sentence, ends at "Begin!".</summary>
    public static string OpenAiInstruction(IReadOnlyList<QwenToolDefinition> tools)
    {
        var descs = string.Join("\n\n", tools.Select(ToolDescription));
        var names = string.Join(", ", tools.Select(t => t.ModelName));
        return PythonText.LStripNewlinesRStrip(Instruction("APIs", descs, names));
    }

    /// <summary>What the loop appends after running a tool: <c>"\nObservation: {result}\nThought:"</c> (§6.2).</summary>
    public static string ObservationContinuation(string observation) => $"\nObservation: {observation}\nThought:";

    /// <summary>
    /// react_demo.py's clean-up of one generation step: drops <c>&lt;|endoftext|&gt;</c> and <c>&lt;|im_end|&gt;</c>, then cuts
    /// just after the first <see cref="StopWords"/> occurrence (the stop word stays, as the loop expects).
    /// </summary>
    public static string CutAfterFirstStop(string generated)
    {
        ArgumentNullException.ThrowIfNull(generated);
        var text = generated.Replace(Tokenization.QwenTokenizer.EndOfText, string.Empty, StringComparison.Ordinal)
            .Replace(Tokenization.QwenTokenizer.ImEnd, string.Empty, StringComparison.Ordinal);
        foreach (var stop in StopWords)
        {
            int idx = text.IndexOf(stop, StringComparison.Ordinal);
            if (idx >= 0) text = text[..(idx + stop.Length)];
        }
        return text;
    }

    private static string Instruction(string noun, string toolDescs, string toolNames)
    {
        var sb = new StringBuilder();
        sb.Append("Answer the following questions as best you can. You have access to the following ").Append(noun).Append(":\n\n");
        sb.Append(toolDescs).Append("\n\n");
        sb.Append("Use the following format:\n\n");
        sb.Append("Question: the input question you must answer\n");
        sb.Append("Thought: you should always think about what to do\n");
        sb.Append("Action: the action to take, should be one of [").Append(toolNames).Append("]\n");
        sb.Append("Action Input: the input to the action\n");
        sb.Append("Observation: the result of the action\n");
        sb.Append("... (this Thought/Action/Action Input/Observation can be repeated zero or more times)\n");
        sb.Append("Thought: I now know the final answer\n");
        sb.Append("Final Answer: the final answer to the original input question\n\n");
        sb.Append("Begin!");
        return sb.ToString();
    }
}
