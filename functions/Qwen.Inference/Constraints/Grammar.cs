using System.Text.Json;

namespace Qwen.Inference.Constraints;

/// <summary>What a constrained generation may produce: a small grammar over text, compiled into a token mask by <see cref="TokenConstraint"/>.</summary>
/// <remarks>
/// Grammars are immutable data; build them with the static factories and compose them (<see cref="Sequence"/>,
/// <see cref="OneOf"/>), e.g. a ReAct tool call is literal text, a choice of tool names and a JSON value.
/// </remarks>
public abstract record Grammar
{
    private protected Grammar()
    {
    }

    /// <summary>Exactly <paramref name="text"/>.</summary>
    public static Grammar Literal(string text) => new LiteralGrammar(text);

    /// <summary>The parts one after another.</summary>
    public static Grammar Sequence(params Grammar[] parts) => new SequenceGrammar([.. parts]);

    /// <summary>Any one of the alternatives.</summary>
    public static Grammar OneOf(params Grammar[] alternatives) => new OneOfGrammar([.. alternatives]);

    /// <summary>Free text of at most <paramref name="maxChars"/> characters (Unicode scalar values), none of them in <paramref name="forbiddenChars"/>.</summary>
    public static Grammar Text(int maxChars, string forbiddenChars = "") => new TextGrammar(maxChars, forbiddenChars);

    /// <summary>Any JSON value (RFC 8259), whitespace between tokens bounded.</summary>
    public static Grammar JsonValue() => new JsonGrammar(false);

    /// <summary>Any JSON object: what OpenAI's <c>response_format: {"type": "json_object"}</c> produces.</summary>
    public static Grammar JsonObject() => new JsonGrammar(true);

    /// <summary>A JSON value valid against <paramref name="schema"/> (the subset OpenAI's strict structured outputs accept).</summary>
    /// <exception cref="UnsupportedSchemaException">The schema uses a keyword or shape outside the supported subset.</exception>
    public static Grammar JsonSchema(JsonElement schema) => JsonSchemaGrammar.Create(schema);
}

/// <summary>Exactly <paramref name="Value"/>.</summary>
public sealed record LiteralGrammar(string Value) : Grammar;

/// <summary>Parts one after another.</summary>
public sealed record SequenceGrammar(IReadOnlyList<Grammar> Parts) : Grammar;

/// <summary>One of several alternatives.</summary>
public sealed record OneOfGrammar(IReadOnlyList<Grammar> Alternatives) : Grammar;

/// <summary>Bounded free text without the forbidden characters.</summary>
public sealed record TextGrammar(int MaxChars, string ForbiddenChars) : Grammar;

/// <summary>Any JSON value, or any JSON object when <paramref name="ObjectOnly"/>.</summary>
public sealed record JsonGrammar(bool ObjectOnly) : Grammar;
