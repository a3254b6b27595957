using System.Text;

namespace Qwen.Inference.Constraints;

/// <summary>Turns <see cref="Grammar"/> records into the matcher's nodes.</summary>
internal static class GrammarCompiler
{
    /// <exception cref="ArgumentException">An empty <see cref="OneOfGrammar"/>, a negative text length, or an unknown grammar type.</exception>
    /// <exception cref="UnsupportedSchemaException">A schema outside the supported subset.</exception>
    public static MatchNode Compile(Grammar grammar) => grammar switch
    {
        LiteralGrammar literal => new LiteralNode(Encoding.UTF8.GetBytes(literal.Value ?? throw new ArgumentException("A literal grammar has no text.", nameof(grammar)))),
        SequenceGrammar sequence => sequence.Parts.Count == 1 ? Compile(sequence.Parts[0]) : new SequenceNode([.. sequence.Parts.Select(Compile)]),
        OneOfGrammar oneOf => oneOf.Alternatives.Count switch
        {
            0 => throw new ArgumentException("A OneOf grammar needs at least one alternative.", nameof(grammar)),
            1 => Compile(oneOf.Alternatives[0]),
            _ when oneOf.Alternatives.All(a => a is LiteralGrammar) => new LiteralSetNode(oneOf.Alternatives.Select(a => Encoding.UTF8.GetBytes(((LiteralGrammar)a).Value))),
            _ => new ChoiceNode([.. oneOf.Alternatives.Select(Compile)]),
        },
        TextGrammar text => text.MaxChars >= 0
            ? new TextNode(text.MaxChars, text.ForbiddenChars ?? "")
            : throw new ArgumentException($"A text grammar's maximum length is {text.MaxChars}; it must be ≥ 0.", nameof(grammar)),
        JsonGrammar json => json.ObjectOnly ? JsonValueNode.Any.Object : (MatchNode)JsonValueNode.Any,
        JsonSchemaGrammar schema => SchemaCompiler.Compile(schema.Schema),
        null => throw new ArgumentNullException(nameof(grammar)),
        _ => throw new ArgumentException($"Grammar type {grammar.GetType().Name} is not supported.", nameof(grammar)),
    };
}
