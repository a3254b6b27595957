using System.Text.Json.Nodes;
using Qwen.Inference.Chat;

namespace Qwen.Eval.Tools;

/// <summary>
/// The seed evaluator's <c>process_res</c>: the action and the normalized action input of a ReAct response, with the
/// same slicing (first occurrences; a missing marker's −1 clips the text as Python slicing does).
/// </summary>
/// <param name="Action">Text between the first "Action:" and the first "Action Input:", stripped.</param>
/// <param name="ActionInput">Text between the first "Action Input:" and the first "Observation:", as sorted-key Python JSON; "" when it is not JSON.</param>
public sealed record ReActResponse(string Action, string ActionInput)
{
    /// <summary>Parses a model or golden response.</summary>
    public static ReActResponse Parse(string response)
    {
        var text = response + "\n"; // the evaluator's "fix not-find bug"
        var action = Slice(text, text.IndexOf("Action:", StringComparison.Ordinal) + "Action:".Length, text.IndexOf("Action Input:", StringComparison.Ordinal)).Trim();
        var input = Slice(text, text.IndexOf("Action Input:", StringComparison.Ordinal) + "Action Input:".Length, text.IndexOf("Observation:", StringComparison.Ordinal)).Trim();
        return new ReActResponse(action, Normalize(input));
    }

    /// <summary>True when <paramref name="response"/> calls a tool the way the evaluator counts it (contains "\nAction: ").</summary>
    public static bool CallsTool(string response) => response.Contains("\nAction: ", StringComparison.Ordinal);

    /// <summary>json5.loads → json.dumps(ensure_ascii=False, sort_keys=True); "" when the text is not JSON.</summary>
    internal static string Normalize(string input)
    {
        if (LenientJson.TryNormalize(input) is not { } json)
        {
            return "";
        }
        return PythonJson.Dumps(Sort(JsonNode.Parse(json))?.ToJsonString() ?? "null");
    }

    private static JsonNode? Sort(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sort(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Sort)]),
        null => null,
        _ => node.DeepClone(),
    };

    /// <summary>Python's <c>s[start:end]</c> for start, end ≥ −len (negative counts from the end).</summary>
    internal static string Slice(string s, int start, int end)
    {
        static int Clamp(int i, int length) => i < 0 ? Math.Max(0, length + i) : Math.Min(i, length);
        var a = Clamp(start, s.Length);
        var b = Clamp(end, s.Length);
        return b > a ? s[a..b] : "";
    }
}
