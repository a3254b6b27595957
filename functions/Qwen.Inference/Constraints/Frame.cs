namespace Qwen.Inference.Constraints;

/// <summary>
/// One level of a matcher stack: where matching stands inside one node, and (through <see cref="Parent"/>) what follows
/// when the node is done. Immutable, so a cursor's state can be shared, cloned for free and explored by the trie walk
/// without undo.
/// </summary>
/// <remarks>Records give structural equality, which the matcher uses to merge identical stacks of ambiguous grammars.</remarks>
internal abstract record Frame
{
    /// <summary>The frame that continues when this node is done; null at the root.</summary>
    /// <remarks>An init property, not a constructor parameter: a constructor taking one Frame would become the record's copy constructor.</remarks>
    public Frame? Parent { get; init; }

    /// <summary>True when the node may end here (the parent then continues).</summary>
    public abstract bool CanFinish { get; }

    /// <summary>Appends the frames that follow after consuming <paramref name="b"/> inside this node (none: the byte does not fit).</summary>
    public abstract void Step(byte b, List<Frame> output);

    /// <summary>Called on a parent whose child just finished: appends the frames that read the next byte.</summary>
    /// <remarks>Containers record their post-child state before entering the child, so the default resumes the frame itself.</remarks>
    public virtual void Resume(List<Frame> output) => output.Add(this);

    /// <summary>A run of free text where every "plain" token (no quote, escape, control or forbidden character) keeps matching, counted by characters.</summary>
    /// <param name="index">The vocabulary index that owns the plain-token sets.</param>
    /// <param name="plain">The plain tokens of this text kind.</param>
    /// <param name="remaining">Characters the run may still take.</param>
    /// <returns>False when this frame is not at a character boundary of free text.</returns>
    public virtual bool TryGetPlainRun(VocabularyIndex index, out PlainTokenSet plain, out int remaining)
    {
        plain = null!;
        remaining = 0;
        return false;
    }

    /// <summary>True when plain tokens can only continue this run: nothing that may follow its end can start with a non-forbidden character.</summary>
    /// <remarks>JSON strings end only with a quote, so always; free text overrides this to inspect what follows it.</remarks>
    public virtual bool PlainRunIsExact => true;
}
