using System.Text.Json;
using Qwen.Inference.Constraints;

namespace Qwen.Inference.Chat;

/// <summary>
/// The grammar of a forced ReAct tool call (OpenAI <c>tool_choice</c> <c>"required"</c> or a named function): the exact text
/// the ReAct prompt teaches and <see cref="ReActParser.ParseOpenAiResponse(string)"/> reads back.
/// </summary>
/// <remarks>
/// The reply is <c>Thought: {text}\nAction: {name}\nAction Input: {arguments}</c>, where the thought is one line of at
/// most <c>maxThoughtChars</c> characters, the name is one of the allowed tools and the arguments are JSON valid against
/// that tool's parameter schema (any JSON object when it has none). The grammar ends with the arguments: generation
/// stops there, before the <c>\nObservation:</c> the parser adds back. Thread-safe (immutable data).
/// </remarks>
public static class ReActGrammar
{
    /// <summary>The default bound of the thought line: long enough for a trained model's thought, short enough that random text cannot stall.</summary>
    public const int DefaultMaxThoughtChars = 200;

    /// <summary>Builds the grammar of one call to one of <paramref name="tools"/>.</summary>
    /// <param name="tools">The tools the call may name (the one named tool for a named <c>tool_choice</c>); at least one.</param>
    /// <param name="assistantSoFar">
    /// The open assistant text the generation continues: empty for a fresh assistant turn (the prompt ends with
    /// <c>&lt;|im_start|&gt;assistant\n</c>), or the assistant text of a completion-mode prompt (after a tool result it ends
    /// with <c>\nThought:</c>, so the reply starts with the thought's text; after other text a new <c>\nThought: </c> line starts).
    /// </param>
    /// <param name="maxThoughtChars">Bound of the thought line, in characters.</param>
    /// <exception cref="UnsupportedSchemaException">A tool's parameter schema is outside the supported subset; the message names the tool.</exception>
    /// <exception cref="ArgumentException"><paramref name="tools"/> is empty, or a tool's parameters are not a JSON object.</exception>
    public static Grammar ToolCall(IReadOnlyList<QwenToolDefinition> tools, string assistantSoFar = "", int maxThoughtChars = DefaultMaxThoughtChars)
    {
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentNullException.ThrowIfNull(assistantSoFar);
        if (tools.Count == 0)
        {
            throw new ArgumentException("A tool call needs at least one tool to name.", nameof(tools));
        }
        var start = assistantSoFar.Length == 0 ? "Thought: "
            : assistantSoFar.EndsWith("Thought:", StringComparison.Ordinal) ? " "
            : "\nThought: ";
        var calls = tools.Select(t => Grammar.Sequence(Grammar.Literal(t.ModelName + "\nAction Input: "), Arguments(t))).ToArray();
        return Grammar.Sequence(
            Grammar.Literal(start),
            // One line: a newline would end the thought anywhere but before "Action:", and the parser looks for "\nAction:".
            Grammar.Text(maxThoughtChars, "\n"),
            Grammar.Literal("\nAction: "),
            calls.Length == 1 ? calls[0] : Grammar.OneOf(calls));
    }

    /// <summary>The arguments of <paramref name="tool"/>: its parameter schema, or any JSON object when it declares none.</summary>
    /// <exception cref="UnsupportedSchemaException">The schema is outside the supported subset; the message names the tool.</exception>
    public static Grammar Arguments(QwenToolDefinition tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        if (string.IsNullOrWhiteSpace(tool.ParametersJson))
        {
            return Grammar.JsonObject();
        }
        using var doc = JsonDocument.Parse(tool.ParametersJson);
        var schema = doc.RootElement;
        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"The parameters of tool '{tool.Name}' are not a JSON Schema object.", nameof(tool));
        }
        // "{}" and {"type":"object"} say nothing beyond "an object".
        if (!schema.EnumerateObject().Any(p => p.Name != "type") &&
            (!schema.TryGetProperty("type", out var type) || (type.ValueKind == JsonValueKind.String && type.GetString() == "object")))
        {
            return Grammar.JsonObject();
        }
        try
        {
            return Grammar.JsonSchema(schema);
        }
        catch (UnsupportedSchemaException ex)
        {
            throw new UnsupportedSchemaException(ex.Keyword, ex.Path, $"The parameters of tool '{tool.Name}': {ex.Message}");
        }
    }
}
