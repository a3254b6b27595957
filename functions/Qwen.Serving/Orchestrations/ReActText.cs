using System.Text;
using Qwen.Serving.Tools;

namespace Qwen.Serving.Orchestrations;

/// <summary>The ReAct prompt of <c>examples/react_prompt.md</c> and its action parser (spec §6.1).</summary>
/// <remarks>Limitation: a stand-in until the engine's shared ReAct formatter and parser (Qwen.Inference/Chat) land; same texts and rules.</remarks>
internal static class ReActText
{
    public const string ObservationStop = "Observation:";

    /// <summary>Spec §6.1 REACT_PROMPT with TOOL_DESC per tool (descriptions joined by a blank line, names by ",").</summary>
    public static string BuildPrompt(string question, IReadOnlyList<ToolDescriptor> tools)
    {
        var descriptions = string.Join("\n\n", tools.Select(t =>
            $"{t.Name}: Call this tool to interact with the {t.HumanName} API. What is the {t.HumanName} API useful for? {t.Description} Parameters: {t.ParametersJson} Format the arguments as a JSON object."));
        var names = string.Join(",", tools.Select(t => t.Name));
        var sb = new StringBuilder();
        sb.Append("Answer the following questions as best you can. You have access to the following tools:\n\n");
        sb.Append(descriptions).Append("\n\n");
        sb.Append("Use the following format:\n\n");
        sb.Append("Question: the input question you must answer\n");
        sb.Append("Thought: you should always think about what to do\n");
        sb.Append("Action: the action to take, should be one of [").Append(names).Append("]\n");
        sb.Append("Action Input: the input to the action\n");
        sb.Append("Observation: the result of the action\n");
        sb.Append("... (this Thought/Action/Action Input/Observation can be repeated zero or more times)\n");
        sb.Append("Thought: I now know the final answer\n");
        sb.Append("Final Answer: the final answer to the original input question\n\n");
        sb.Append("Begin!\n\n");
        sb.Append("Question: ").Append(question);
        return sb.ToString();
    }

    /// <summary>parse_latest_plugin_call: the last Action / Action Input pair, tolerating a swallowed "Observation:".</summary>
    public static bool TryParseAction(string generated, out string tool, out string arguments)
    {
        // A leading newline lets an answer that starts with "Action:" match "\nAction:".
        var text = "\n" + generated;
        var i = text.LastIndexOf("\nAction:", StringComparison.Ordinal);
        var j = text.LastIndexOf("\nAction Input:", StringComparison.Ordinal);
        var k = text.LastIndexOf("\nObservation:", StringComparison.Ordinal);
        if (0 <= i && i < j && k < j)
        {
            text += "\nObservation:";
            k = text.LastIndexOf("\nObservation:", StringComparison.Ordinal);
        }
        if (0 <= i && i < j && j < k)
        {
            tool = text[(i + "\nAction:".Length)..j].Trim();
            arguments = text[(j + "\nAction Input:".Length)..k].Trim();
            return tool.Length > 0;
        }
        tool = arguments = "";
        return false;
    }

    /// <summary>The text after the last "Final Answer:", trimmed; null when there is none.</summary>
    public static string? FinalAnswer(string generated)
    {
        var at = generated.LastIndexOf("Final Answer:", StringComparison.Ordinal);
        return at < 0 ? null : generated[(at + "Final Answer:".Length)..].Trim();
    }
}
