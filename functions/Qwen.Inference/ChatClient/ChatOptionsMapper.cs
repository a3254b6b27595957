using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Qwen.Inference.Chat;
using Qwen.Inference.Constraints;
using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Sampling;

namespace Qwen.Inference.ChatClient;

/// <summary>Maps Microsoft.Extensions.AI <see cref="ChatOptions"/> onto a <see cref="GenerationRequest"/>, starting from the package's generation defaults.</summary>
public static class ChatOptionsMapper
{
    /// <summary>Key in <see cref="ChatOptions.AdditionalProperties"/> for Hugging Face's repetition penalty (1 disables it).</summary>
    public const string RepetitionPenaltyKey = "repetition_penalty";

    /// <summary>Key in <see cref="ChatOptions.AdditionalProperties"/> that turns sampling off (<c>false</c>) or on.</summary>
    public const string DoSampleKey = "do_sample";

    /// <summary>Builds the request for <paramref name="promptTokens"/>.</summary>
    /// <exception cref="ArgumentException">An additional property has a value of the wrong type.</exception>
    public static GenerationRequest ToRequest(IReadOnlyList<int> promptTokens, ChatOptions? options, GenerationDefaults defaults)
    {
        var sampling = new SamplingOptions
        {
            DoSample = defaults.DoSample,
            Temperature = defaults.Temperature,
            TopP = defaults.TopP,
            TopK = defaults.TopK,
            RepetitionPenalty = defaults.RepetitionPenalty,
        };
        if (options is null)
        {
            return new GenerationRequest { PromptTokens = promptTokens, Sampling = sampling };
        }
        sampling = sampling with
        {
            Temperature = options.Temperature ?? sampling.Temperature,
            TopP = options.TopP ?? sampling.TopP,
            TopK = options.TopK ?? sampling.TopK,
            PresencePenalty = options.PresencePenalty ?? 0,
            FrequencyPenalty = options.FrequencyPenalty ?? 0,
            Seed = options.Seed,
            RepetitionPenalty = ReadDouble(options, RepetitionPenaltyKey) ?? sampling.RepetitionPenalty,
            DoSample = ReadBool(options, DoSampleKey) ?? sampling.DoSample,
        };
        return new GenerationRequest
        {
            PromptTokens = promptTokens,
            Sampling = sampling,
            MaxNewTokens = options.MaxOutputTokens,
            StopStrings = options.StopSequences is { Count: > 0 } stops ? [.. stops] : [],
        };
    }

    /// <summary>Most characters of the <c>Thought:</c> line a constrained tool call may write before its <c>Action:</c>.</summary>
    public const int ThoughtMaxChars = ReActGrammar.DefaultMaxThoughtChars;

    /// <summary>The functions of <see cref="ChatOptions.Tools"/> as Qwen tool definitions; empty without tools or with <see cref="ChatToolMode.None"/>.</summary>
    public static IReadOnlyList<QwenToolDefinition> ToolDefinitions(ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools || options.ToolMode is NoneChatToolMode)
        {
            return [];
        }
        return [.. tools.OfType<AIFunctionDeclaration>().Select(f => new QwenToolDefinition(
            f.Name,
            f.Description,
            f.JsonSchema.ValueKind == JsonValueKind.Undefined ? null : f.JsonSchema.GetRawText()))];
    }

    /// <summary>
    /// What the output is limited to, or null for free text: <see cref="ChatToolMode.RequireAny"/> and
    /// <c>RequireSpecific(name)</c> a ReAct call of an offered function (<see cref="ToolCallGrammar"/>);
    /// <see cref="ChatResponseFormatJson"/> a JSON object or a value valid against its schema, with tools in auto mode the
    /// ReAct <c>Final Answer:</c> in that shape unless the model calls a function.
    /// </summary>
    /// <param name="options">The caller's options.</param>
    /// <param name="tools">The functions offered (<see cref="ToolDefinitions"/>).</param>
    /// <param name="assistantSoFar">The open assistant text a completion-mode ReAct prompt ends with (after a tool result: <c>…\nThought:</c>); empty for a fresh turn.</param>
    /// <exception cref="ArgumentException">RequireSpecific names a function that is not among the tools.</exception>
    /// <exception cref="UnsupportedSchemaException">The response format's schema is outside the supported subset.</exception>
    public static Grammar? ToGrammar(ChatOptions? options, IReadOnlyList<QwenToolDefinition> tools, string assistantSoFar = "")
    {
        ArgumentNullException.ThrowIfNull(tools);
        var json = options?.ResponseFormat is ChatResponseFormatJson format
            ? format.Schema is { } schema ? Grammar.JsonSchema(schema) : Grammar.JsonObject()
            : null;
        if (tools.Count == 0)
        {
            return json;
        }
        switch (options?.ToolMode)
        {
            case RequiredChatToolMode { RequiredFunctionName: { } name }:
                var tool = tools.FirstOrDefault(t => t.Name == name)
                    ?? throw new ArgumentException($"ToolMode requires the function '{name}', which is not among the tools ({string.Join(", ", tools.Select(t => t.Name))}).", nameof(options));
                return ToolCallGrammar([tool], assistantSoFar);
            case RequiredChatToolMode:
                return ToolCallGrammar(tools, assistantSoFar);
            default:
                return json is null
                    ? null
                    : Grammar.OneOf(
                        ToolCallGrammar(tools, assistantSoFar),
                        Grammar.Sequence(Grammar.Literal(ThoughtStart(assistantSoFar)), Grammar.Text(ThoughtMaxChars, "\n"), Grammar.Literal("\nFinal Answer: "), json));
        }
    }

    /// <summary>One forced ReAct tool call: <see cref="ReActGrammar.ToolCall"/>, the grammar the HTTP API uses for <c>tool_choice</c>.</summary>
    /// <exception cref="UnsupportedSchemaException">A function's parameter schema is outside the supported subset; the message names the function.</exception>
    public static Grammar ToolCallGrammar(IReadOnlyList<QwenToolDefinition> tools, string assistantSoFar = "") =>
        ReActGrammar.ToolCall(tools, assistantSoFar, ThoughtMaxChars);

    // A fresh turn starts its Thought line; after a tool result the prompt already ends with "\nThought:" (as ReActGrammar).
    private static string ThoughtStart(string assistantSoFar) =>
        assistantSoFar.Length == 0 ? "Thought: " : assistantSoFar.EndsWith("Thought:", StringComparison.Ordinal) ? " " : "\nThought: ";

    private static double? ReadDouble(ChatOptions options, string key)
    {
        if (options.AdditionalProperties is null || !options.AdditionalProperties.TryGetValue(key, out var value) || value is null)
        {
            return null;
        }
        return value switch
        {
            double d => d,
            float f => f,
            int i => i,
            long l => l,
            decimal m => (double)m,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
            _ => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{key}\"] is {value} ({value.GetType().Name}); expected a number.", nameof(options)),
        };
    }

    private static bool? ReadBool(ChatOptions options, string key)
    {
        if (options.AdditionalProperties is null || !options.AdditionalProperties.TryGetValue(key, out var value) || value is null)
        {
            return null;
        }
        return value switch
        {
            bool b => b,
            string s when bool.TryParse(s, out var parsed) => parsed,
            JsonElement { ValueKind: JsonValueKind.True } => true,
            JsonElement { ValueKind: JsonValueKind.False } => false,
            _ => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{key}\"] is {value} ({value.GetType().Name}); expected true or false.", nameof(options)),
        };
    }
}
