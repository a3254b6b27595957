using System.Text.Json;

namespace Qwen.Inference.Constraints;

/// <summary>A JSON value valid against a JSON Schema (supported subset, checked when created).</summary>
public sealed record JsonSchemaGrammar : Grammar
{
    private JsonSchemaGrammar(JsonElement schema) => Schema = schema;

    /// <summary>The schema (a detached copy).</summary>
    public JsonElement Schema { get; }

    /// <summary>Checks <paramref name="schema"/> against the supported subset and wraps a copy of it.</summary>
    /// <exception cref="UnsupportedSchemaException">A keyword or shape outside the supported subset.</exception>
    public static JsonSchemaGrammar Create(JsonElement schema)
    {
        // CONTRACT STUB (lead, 2026-12-06): the constraints engineer replaces this with the subset check.
        return new JsonSchemaGrammar(schema.Clone());
    }
}
