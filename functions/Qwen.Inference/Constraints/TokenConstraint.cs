using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Constraints;

/// <summary>A grammar compiled against a tokenizer's vocabulary: set on <see cref="Generation.GenerationRequest.Constraint"/> to limit what the engine may sample.</summary>
/// <remarks>
/// Immutable and shareable across requests; each generation starts its own cursor (<see cref="Start"/>). The engine masks
/// every token whose bytes cannot continue the grammar, allows end-of-text only when the grammar is complete, and finishes
/// the generation (<c>stop</c>) when nothing but the end can follow. Special tokens never match inside the grammar.
/// </remarks>
public sealed class TokenConstraint
{
    /// <summary>End tokens allowed once the grammar is complete when <see cref="Start"/> is given none: &lt;|endoftext|&gt; and &lt;|im_end|&gt;.</summary>
    public static IReadOnlyList<int> DefaultEndTokenIds { get; } = [QwenTokenizer.EndOfTextId, QwenTokenizer.ImEndId];

    private readonly MatchNode _root;

    private TokenConstraint(Grammar grammar, MatchNode root, VocabularyIndex index)
    {
        Grammar = grammar;
        _root = root;
        Index = index;
    }

    /// <summary>The grammar this constraint enforces.</summary>
    public Grammar Grammar { get; }

    internal VocabularyIndex Index { get; }

    /// <summary>Compiles <paramref name="grammar"/> for <paramref name="tokenizer"/>'s vocabulary (the vocabulary index is built once per tokenizer and cached).</summary>
    /// <exception cref="UnsupportedSchemaException">A <see cref="JsonSchemaGrammar"/> outside the supported subset.</exception>
    public static TokenConstraint Create(Grammar grammar, QwenTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(grammar);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new TokenConstraint(grammar, GrammarCompiler.Compile(grammar), VocabularyIndex.For(tokenizer));
    }

    /// <summary>A cursor at the start of the output.</summary>
    /// <param name="endTokenIds">Special tokens that end the generation, allowed only when the grammar is complete (default <see cref="DefaultEndTokenIds"/>).</param>
    public ConstraintCursor Start(IEnumerable<int>? endTokenIds = null)
        => new(this, ByteMatcher.Start(_root), [.. (endTokenIds ?? DefaultEndTokenIds).Where(id => id >= QwenTokenizer.SpecialStartId && id < QwenTokenizer.VocabCount).Distinct()]);
}
