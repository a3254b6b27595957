using System.Text.Json;

namespace Qwen.Inference.Constraints;

/// <summary>A JSON value valid against a JSON Schema (supported subset, checked when created; see docs/structured-output.md).</summary>
public sealed record JsonSchemaGrammar : Grammar
{
    private JsonSchemaGrammar(JsonElement schema) => Schema = schema;

    /// <summary>The schema (a detached copy).</summary>
    public JsonElement Schema { get; }

    /// <summary>Checks <paramref name="schema"/> against the supported subset and wraps a copy of it.</summary>
    /// <exception cref="UnsupportedSchemaException">A keyword or shape outside the supported subset.</exception>
    public static JsonSchemaGrammar Create(JsonElement schema)
    {
        var copy = schema.Clone();
        SchemaCompiler.Compile(copy); // the check is the compile; TokenConstraint compiles again (cheap) for its vocabulary
        return new JsonSchemaGrammar(copy);
    }
}
