using Qwen.Inference.Sampling;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Constraints;

/// <summary>Where one generation stands in its <see cref="TokenConstraint"/>: computes the token mask for the next step and advances by the sampled token.</summary>
/// <remarks>
/// One per generation; not thread-safe. The matcher state itself is immutable, so <see cref="Clone"/> is cheap and the
/// clone evolves independently (the scheduler forks one per choice when a prompt is prefilled once for n choices).
/// </remarks>
public sealed class ConstraintCursor
{
    private readonly TokenConstraint _constraint;
    private readonly int[] _endTokenIds;
    private readonly ulong[] _allowed = new ulong[VocabularyIndex.BitsetWords];
    private Frame[] _state;
    private bool? _complete;
    private bool? _ended;

    internal ConstraintCursor(TokenConstraint constraint, Frame[] state, int[] endTokenIds)
    {
        _constraint = constraint;
        _state = state;
        _endTokenIds = endTokenIds;
    }

    /// <summary>The constraint this cursor follows.</summary>
    public TokenConstraint Constraint => _constraint;

    /// <summary>The output so far is a complete match: the end tokens are allowed now.</summary>
    public bool IsComplete => _complete ??= ByteMatcher.IsComplete(_state);

    /// <summary>Complete, and no byte can follow: the generation is over (finish reason <c>stop</c>) without sampling another token.</summary>
    public bool IsEnded => _ended ??= IsComplete && !ByteMatcher.CanContinue(_state);

    /// <summary>Number of trie nodes the last <see cref="ApplyMask"/> visited (diagnostics and benchmarks).</summary>
    public int LastNodesVisited { get; private set; }

    /// <summary>An independent copy at the same position.</summary>
    public ConstraintCursor Clone() => new(_constraint, _state, _endTokenIds) { _complete = _complete, _ended = _ended };

    /// <summary>True when <paramref name="tokenId"/> may come next: its bytes continue the grammar, or it is an end token and the grammar is complete.</summary>
    public bool Allows(int tokenId)
        => IsEndToken(tokenId) ? IsComplete : (uint)tokenId < QwenTokenizer.SpecialStartId && ByteMatcher.Advance(_state, _constraint.Index.TokenBytes[tokenId]).Length > 0;

    /// <summary>Moves past <paramref name="tokenId"/>; an end token leaves the position as it is (the generation stops on it).</summary>
    /// <exception cref="InvalidOperationException">The grammar does not allow the token here (it was not sampled from the mask).</exception>
    public void Advance(int tokenId)
    {
        if (IsEndToken(tokenId) && IsComplete)
        {
            return;
        }
        var next = (uint)tokenId < QwenTokenizer.SpecialStartId ? ByteMatcher.Advance(_state, _constraint.Index.TokenBytes[tokenId]) : [];
        if (next.Length == 0)
        {
            throw new InvalidOperationException($"Token {tokenId} does not continue the output's grammar here; it should have been masked.");
        }
        _state = next;
        _complete = null;
        _ended = null;
    }

    /// <summary>Sets the logit of every token the grammar does not allow next to negative infinity (a sampler stage: after penalties and bias, before temperature).</summary>
    /// <param name="logits">One row of logits (model rows may exceed the vocabulary; those stay masked).</param>
    /// <exception cref="InvalidOperationException">No token is allowed (cannot happen for a live grammar: every byte is a token).</exception>
    public void ApplyMask(Span<float> logits)
    {
        ComputeAllowed(_allowed);
        LogitStages.ApplyAllowedTokens(logits, _allowed);
    }

    /// <summary>Fills <paramref name="bits"/> (one bit per token id, <see cref="VocabularyIndex.BitsetWords"/> words) with the tokens allowed next.</summary>
    internal void ComputeAllowed(Span<ulong> bits)
    {
        bits.Clear();
        var index = _constraint.Index;
        var any = false;
        if (!IsEnded)
        {
            if (_state.Length == 1 && _state[0].TryGetPlainRun(index, out var plain, out var remaining) && _state[0].PlainRunIsExact)
            {
                plain.AddTo(bits, remaining);
                LastNodesVisited = TrieWalker.Walk(plain.Rest, _state, bits);
            }
            else
            {
                LastNodesVisited = TrieWalker.Walk(index.Trie, _state, bits);
            }
            any = bits.IndexOfAnyExcept(0UL) >= 0;
        }
        if (IsComplete)
        {
            foreach (var id in _endTokenIds)
            {
                bits[id >> 6] |= 1UL << id;
                any = true;
            }
        }
        if (!any)
        {
            throw new InvalidOperationException("The output's grammar allows no token here.");
        }
    }

    /// <summary>Advances by raw bytes (tests of the matcher); false, leaving the position unchanged, when they do not match.</summary>
    internal bool TryAdvanceBytes(ReadOnlySpan<byte> bytes)
    {
        var next = ByteMatcher.Advance(_state, bytes);
        if (next.Length == 0)
        {
            return false;
        }
        _state = next;
        _complete = null;
        _ended = null;
        return true;
    }

    private bool IsEndToken(int tokenId) => Array.IndexOf(_endTokenIds, tokenId) >= 0;
}
