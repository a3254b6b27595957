using Qwen.Inference.Runtime;
using Qwen.Inference.Scheduling;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>
/// A runner without a model whose "KV cache" is the token ids written to each row: the logits of a position put all the
/// mass on a hash of every id the row holds up to it, so a wrong position, a clobbered row or a bad prefix reuse changes
/// the output exactly as it would with a real model. Each call can be held at a gate.
/// </summary>
internal sealed class ScriptedRunner(int maxBatch, int maxSequence, int vocab = 6000) : IBatchRunner
{
    private readonly int[][] _rows = Enumerable.Range(0, maxBatch).Select(_ => new int[maxSequence]).ToArray();
    private readonly Lock _lock = new();

    public int MaxBatchSize => maxBatch;
    public int MaxSequenceLength => maxSequence;
    public int VocabRows => vocab;

    /// <summary>Model calls made (prefill or decode).</summary>
    public int Calls { get; private set; }

    /// <summary>Prompt tokens run by prefills.</summary>
    public int PrefilledTokens { get; private set; }

    /// <summary>Row copies made (fromSlot, toSlot, positions).</summary>
    public List<(int From, int To, int Positions)> Copies { get; } = [];

    /// <summary>Active rows of each decode call, in call order.</summary>
    public List<int> DecodeBatchSizes { get; } = [];

    /// <summary>False makes the scheduler prefill every choice of a group itself.</summary>
    public bool CanCopyRows { get; init; } = true;

    /// <summary>When set, every call waits on it first (tests hold the loop to build up a queue).</summary>
    public SemaphoreSlim? Gate { get; set; }

    /// <summary>The token the scripted model predicts after <paramref name="sequence"/>, never a stop id.</summary>
    public static int Next(IReadOnlyList<int> sequence, int count, int vocab = 6000)
    {
        var hash = 17L;
        for (var i = 0; i < count; i++)
        {
            hash = (hash * 31 + sequence[i]) % 1_000_003;
        }
        return 300 + (int)(hash % (vocab - 300));
    }

    public void Prefill(PrefillWork work, IReadOnlyList<int> tokens, RotaryEmbedding rotary, Span<float> logits, CancellationToken cancellationToken)
    {
        Gate?.Wait(cancellationToken);
        lock (_lock)
        {
            Calls++;
            PrefilledTokens += work.TokenCount;
        }
        var row = _rows[work.Slot];
        for (var t = 0; t < work.TokenCount; t++)
        {
            row[work.StartPosition + t] = tokens[work.StartPosition + t];
        }
        OneHot(logits, Next(row, work.StartPosition + work.TokenCount, vocab));
    }

    public void CopyRow(int fromSlot, int toSlot, int positions)
    {
        if (!CanCopyRows)
        {
            throw new NotSupportedException("This runner was told it cannot copy rows.");
        }
        lock (_lock)
        {
            Copies.Add((fromSlot, toSlot, positions));
        }
        Array.Copy(_rows[fromSlot], _rows[toSlot], positions);
    }

    public void Decode(DecodeBatch batch, ReadOnlySpan<int> tokens, IReadOnlyList<RotaryEmbedding> rotaries, Span<float> logits)
    {
        Gate?.Wait();
        lock (_lock)
        {
            Calls++;
            DecodeBatchSizes.Add(batch.Active.Count);
        }
        foreach (var filler in batch.Fillers)
        {
            _rows[filler.Slot][filler.Position] = -1;
        }
        for (var i = 0; i < batch.Active.Count; i++)
        {
            var active = batch.Active[i];
            var row = _rows[active.Slot];
            row[active.Position] = tokens[i];
            OneHot(logits.Slice(i * vocab, vocab), Next(row, active.Position + 1, vocab));
        }
    }

    private static void OneHot(Span<float> logits, int id)
    {
        logits.Fill(0);
        logits[id] = 10;
    }

    public void Dispose()
    {
    }
}
