using Qwen.Inference.Runtime;

namespace Qwen.Inference.Scheduling;

/// <summary>Executes a scheduler's step plan on the model: prefill one row, or decode one token on many rows.</summary>
/// <remarks>Called only from the scheduler's loop thread; implementations need not be thread-safe.</remarks>
public interface IBatchRunner : IDisposable
{
    /// <summary>KV rows.</summary>
    int MaxBatchSize { get; }

    /// <summary>Positions per KV row.</summary>
    int MaxSequenceLength { get; }

    /// <summary>Logits per position (the model's vocabulary rows).</summary>
    int VocabRows { get; }

    /// <summary>Runs <paramref name="tokens"/>[work.StartPosition..] on row work.Slot on top of the row's first StartPosition cached entries.</summary>
    /// <param name="work">Which row, from which position, how many tokens.</param>
    /// <param name="tokens">The whole prompt.</param>
    /// <param name="rotary">The request's rotary table (its α).</param>
    /// <param name="logits">[vocab] destination: logits of the last prompt token.</param>
    /// <param name="cancellationToken">Stops a long prefill mid-graph.</param>
    void Prefill(PrefillWork work, IReadOnlyList<int> tokens, RotaryEmbedding rotary, Span<float> logits, CancellationToken cancellationToken);

    /// <summary>True when <see cref="CopyRow"/> works on this runner's memory; false makes the scheduler prefill every choice of a group on its own row.</summary>
    bool CanCopyRows { get; }

    /// <summary>Copies the K/V of positions [0, <paramref name="positions"/>) of row <paramref name="fromSlot"/> into row <paramref name="toSlot"/>, every layer; the destination's later positions are left as they are.</summary>
    /// <remarks>How choices 2…n of one prompt get its prefill without running it (OpenAI <c>n</c>).</remarks>
    /// <exception cref="NotSupportedException"><see cref="CanCopyRows"/> is false.</exception>
    void CopyRow(int fromSlot, int toSlot, int positions);

    /// <summary>Runs one token per active row (and a dummy per filler row) in a single model call.</summary>
    /// <param name="batch">Rows and positions.</param>
    /// <param name="tokens">Token fed to each active row, in <see cref="DecodeBatch.Active"/> order.</param>
    /// <param name="rotaries">Rotary table of each active row, same order.</param>
    /// <param name="logits">[active, vocab] destination.</param>
    void Decode(DecodeBatch batch, ReadOnlySpan<int> tokens, IReadOnlyList<RotaryEmbedding> rotaries, Span<float> logits);
}
