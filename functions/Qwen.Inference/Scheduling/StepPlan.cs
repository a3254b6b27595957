namespace Qwen.Inference.Scheduling;

/// <summary>What one engine step runs: prefills of joining requests (each on its own row), then one decode over the batch rows.</summary>
/// <param name="Prefills">Joining requests, each prefilled on a batch-1 view of its row.</param>
/// <param name="Decode">The decode run, or null when no request is decoding.</param>
/// <param name="Released">Sequences whose rows were freed before this step (finished or cancelled).</param>
public sealed record StepPlan(IReadOnlyList<PrefillWork> Prefills, DecodeBatch? Decode, IReadOnlyList<long> Released)
{
    /// <summary>A step with nothing to run.</summary>
    public static StepPlan Empty { get; } = new([], null, []);

    /// <summary>True when the step runs no model call.</summary>
    public bool IsEmpty => Prefills.Count == 0 && Decode is null;
}

/// <summary>Prefill of prompt tokens [<paramref name="StartPosition"/>, StartPosition + TokenCount) into row <paramref name="Slot"/>.</summary>
/// <param name="Slot">KV row.</param>
/// <param name="SequenceId">The request.</param>
/// <param name="StartPosition">Prompt tokens already cached in the row (reused prefix); the first position written.</param>
/// <param name="TokenCount">New tokens to run (at least 1: the last prompt token's logits start the output).</param>
public sealed record PrefillWork(int Slot, long SequenceId, int StartPosition, int TokenCount)
{
    /// <summary>Other choices of the same prompt: right after this prefill, its rows' positions [0, prompt length) are copied into theirs and they sample from the same last-position logits.</summary>
    public IReadOnlyList<ForkRow> Forks { get; init; } = [];

    /// <summary>Value equality, forks compared element by element.</summary>
    public bool Equals(PrefillWork? other) =>
        other is not null && Slot == other.Slot && SequenceId == other.SequenceId && StartPosition == other.StartPosition
        && TokenCount == other.TokenCount && Forks.SequenceEqual(other.Forks);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Slot, SequenceId, StartPosition, TokenCount, Forks.Count);
}

/// <summary>A choice that joins by copying the prompt's KV from its group's prefilled row instead of running the prompt itself.</summary>
/// <param name="Slot">The fork's own KV row.</param>
/// <param name="SequenceId">The fork's request.</param>
public sealed record ForkRow(int Slot, long SequenceId);

/// <summary>One decode run over rows [0, <paramref name="Rows"/>) of the KV buffer: one token per row.</summary>
/// <param name="Rows">Batch rows bound (a prefix of the buffer, so the view stays contiguous).</param>
/// <param name="Active">Rows that decode a request's last token.</param>
/// <param name="Fillers">Idle rows inside the bound prefix: they run a dummy token at a position past their cached tokens, so no cached KV is overwritten; their logits are not read.</param>
public sealed record DecodeBatch(int Rows, IReadOnlyList<DecodeRow> Active, IReadOnlyList<FillerRow> Fillers);

/// <summary>A decoding row: feeds the request's last sampled token at <paramref name="Position"/>.</summary>
public sealed record DecodeRow(int Slot, long SequenceId, int Position);

/// <summary>An idle row inside a decode batch, fed a dummy token at <paramref name="Position"/>.</summary>
public sealed record FillerRow(int Slot, int Position);
