namespace Qwen.Inference.Constraints;

/// <summary>A JSON Schema uses a keyword or shape constrained decoding does not support; hosts answer 400 naming <see cref="Keyword"/>.</summary>
public sealed class UnsupportedSchemaException(string keyword, string path, string message) : Exception(message)
{
    /// <summary>The schema keyword at fault (e.g. <c>pattern</c>).</summary>
    public string Keyword { get; } = keyword;

    /// <summary>JSON Pointer of the subschema holding it (e.g. <c>/properties/name</c>).</summary>
    public string Path { get; } = path;
}
