using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Constraints;

/// <summary>A grammar compiled against a tokenizer's vocabulary: set on <see cref="Generation.GenerationRequest.Constraint"/> to limit what the engine may sample.</summary>
/// <remarks>
/// Immutable and shareable across requests; each generation starts its own cursor. The engine masks every token whose
/// bytes cannot continue the grammar, allows end-of-text only when the grammar is complete, and finishes the
/// generation (<c>stop</c>) when nothing but the end can follow.
/// </remarks>
public sealed class TokenConstraint
{
    private TokenConstraint(Grammar grammar) => Grammar = grammar;

    /// <summary>The grammar this constraint enforces.</summary>
    public Grammar Grammar { get; }

    /// <summary>Compiles <paramref name="grammar"/> for <paramref name="tokenizer"/>'s vocabulary (the vocabulary index is built once per tokenizer and cached).</summary>
    public static TokenConstraint Create(Grammar grammar, QwenTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(grammar);
        ArgumentNullException.ThrowIfNull(tokenizer);
        // CONTRACT STUB (lead, 2026-12-06): the constraints engineer compiles the grammar here.
        return new TokenConstraint(grammar);
    }
}
