namespace Qwen.Inference.Scheduling;

/// <summary>Decides what runs each step: admission into a bounded queue, row assignment with prefix reuse, and the step plan.</summary>
/// <remarks>
/// Pure decision logic, no model calls: the engine loop asks <see cref="Schedule"/> for a <see cref="StepPlan"/>, runs it,
/// then reports back through <see cref="CompletePrefill"/>, <see cref="CompleteDecode"/> and <see cref="Release"/>.
/// Not thread-safe: one loop owns it (admission from request threads goes through the engine's lock).
/// <para>
/// Rows keep the tokens of their last sequence after it leaves, so a later prompt that extends them (the next chat
/// turn) prefills only its new tokens. Cached keys were rotated with the α of the earlier prompt; they are reused only
/// when the new prompt gets the same α, and at least one token is always run so its logits start the output.
/// </para>
/// <para>
/// Choices of one prompt (OpenAI <c>n</c>) queue as one group (<see cref="TryEnqueueGroup"/>) and are admitted together
/// when n rows are free: the first prefills the prompt, the others are <see cref="ForkRow"/>s of its
/// <see cref="PrefillWork"/> whose rows receive a copy of the prompt's KV, so all n decode from the next step on.
/// </para>
/// </remarks>
public sealed class BatchScheduler
{
    private readonly SchedulerOptions _options;
    private readonly int _maxSequenceLength;
    private readonly LinkedList<ScheduledSequence> _waiting = new();
    private readonly Row[] _rows;
    private readonly Dictionary<long, ScheduledSequence> _active = [];
    private readonly List<long> _released = [];
    private readonly bool _copyRows;
    private long _clock;

    /// <summary>Creates a scheduler over <see cref="SchedulerOptions.MaxBatchSize"/> rows of <paramref name="maxSequenceLength"/> positions.</summary>
    /// <param name="options">Rows, queue and prefill limits.</param>
    /// <param name="maxSequenceLength">Positions per row.</param>
    /// <param name="copyRows">The runner can copy a row's KV into another (<see cref="IBatchRunner.CanCopyRows"/>); when false, every choice of a group is prefilled on its own row (still admitted together).</param>
    public BatchScheduler(SchedulerOptions options, int maxSequenceLength, bool copyRows = true)
    {
        _copyRows = copyRows;
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 2);
        _options = options;
        _maxSequenceLength = maxSequenceLength;
        _rows = new Row[options.MaxBatchSize];
        for (var i = 0; i < _rows.Length; i++)
        {
            _rows[i] = new Row();
        }
    }

    /// <summary>Requests waiting for a row (each choice of a waiting group counts).</summary>
    public int QueueDepth
    {
        get
        {
            var count = 0;
            foreach (var sequence in _waiting)
            {
                count += 1 + sequence.Forks.Count;
            }
            return count;
        }
    }

    /// <summary>Requests holding a row.</summary>
    public int RunningCount => _active.Count;

    /// <summary>Positions per row.</summary>
    public int MaxSequenceLength => _maxSequenceLength;

    /// <summary>True when nothing waits and nothing runs.</summary>
    public bool IsIdle => _waiting.Count == 0 && _active.Count == 0;

    /// <summary>Tokens whose K/V are kept in <paramref name="slot"/> (for tests and diagnostics).</summary>
    public IReadOnlyList<int> CachedTokens(int slot) => _rows[slot].Tokens;

    /// <summary>Queues a sequence; false when the queue already holds <see cref="SchedulerOptions.MaxQueueLength"/>.</summary>
    public bool TryEnqueue(ScheduledSequence sequence)
    {
        if (sequence.PromptLength + 1 > _maxSequenceLength)
        {
            throw new ArgumentException($"Sequence {sequence.Id} has {sequence.PromptLength} prompt tokens; a row holds {_maxSequenceLength}.", nameof(sequence));
        }
        if (_waiting.Count >= _options.MaxQueueLength)
        {
            return false;
        }
        sequence.Status = SequenceStatus.Waiting;
        _waiting.AddLast(sequence);
        return true;
    }

    /// <summary>Queues the choices of one prompt as one entry: <paramref name="group"/>[0] prefills it, the others fork from its row.</summary>
    /// <returns>False when the queue already holds <see cref="SchedulerOptions.MaxQueueLength"/> entries (a group is one entry).</returns>
    /// <exception cref="ArgumentException">The group is empty, larger than the row count, or its prompts differ.</exception>
    public bool TryEnqueueGroup(IReadOnlyList<ScheduledSequence> group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (group.Count == 0 || group.Count > _rows.Length)
        {
            throw new ArgumentException($"A group of {group.Count} choices cannot run: it needs one row per choice and there are {_rows.Length}.", nameof(group));
        }
        var head = group[0];
        for (var i = 1; i < group.Count; i++)
        {
            if (group[i].PromptLength != head.PromptLength || group[i].NtkAlpha != head.NtkAlpha || CommonPrefixLength(group[i].Tokens, head.Tokens) != head.PromptLength)
            {
                throw new ArgumentException($"Choice {i} of the group has another prompt; forked choices share the prompt.", nameof(group));
            }
        }
        if (!TryEnqueue(head))
        {
            return false;
        }
        for (var i = 1; i < group.Count; i++)
        {
            group[i].Status = SequenceStatus.Waiting;
            group[i].ForkOf = head;
            head.Forks.Add(group[i]);
        }
        return true;
    }

    /// <summary>Takes a sequence out of the queue or its row (finished or cancelled); its row keeps the computed tokens for reuse.</summary>
    /// <returns>False when the sequence was already released.</returns>
    public bool Release(ScheduledSequence sequence)
    {
        if (sequence.Status == SequenceStatus.Released)
        {
            return false;
        }
        if (sequence.Status == SequenceStatus.Waiting)
        {
            LeaveQueue(sequence);
        }
        else
        {
            var row = _rows[sequence.Slot];
            row.Owner = null;
            row.LastUsed = ++_clock;
            // Only tokens whose K/V were written are valid; the last sampled token was never fed.
            row.Tokens.Clear();
            for (var i = 0; i < sequence.ComputedCount; i++)
            {
                row.Tokens.Add(sequence.Tokens[i]);
            }
            row.Alpha = sequence.NtkAlpha;
            row.Scope = sequence.CacheScope;
            _active.Remove(sequence.Id);
            _released.Add(sequence.Id);
        }
        sequence.Status = SequenceStatus.Released;
        return true;
    }

    /// <summary>Takes a waiting sequence out of the queue; a waiting group keeps its other choices (the next one becomes the one that prefills).</summary>
    private void LeaveQueue(ScheduledSequence sequence)
    {
        if (sequence.ForkOf is { Status: SequenceStatus.Waiting } head)
        {
            head.Forks.Remove(sequence);
            return;
        }
        var node = _waiting.Find(sequence);
        if (node is null)
        {
            return;
        }
        if (sequence.Forks.Count > 0)
        {
            var next = sequence.Forks[0];
            next.ForkOf = null;
            for (var i = 1; i < sequence.Forks.Count; i++)
            {
                sequence.Forks[i].ForkOf = next;
                next.Forks.Add(sequence.Forks[i]);
            }
            sequence.Forks.Clear();
            _waiting.AddBefore(node, next);
        }
        _waiting.Remove(node);
    }

    /// <summary>Plans the next step: joins waiting sequences into free rows (within the prefill budget), and decodes every running one.</summary>
    public StepPlan Schedule()
    {
        var prefills = new List<PrefillWork>();
        var budget = _options.MaxPrefillTokensPerStep;
        while (_waiting.First is { } node)
        {
            var sequence = node.Value;
            // A group joins whole or not at all, so its choices decode in the same batch from their first step.
            if (sequence.Forks.Count > 0 && FreeRows() < 1 + sequence.Forks.Count)
            {
                break;
            }
            var slot = PickRow(sequence, out var reused);
            if (slot < 0)
            {
                break;
            }
            var count = sequence.PromptLength - reused;
            // The first joiner always goes (a prompt is never split: α comes from the whole prompt); later ones only within budget.
            if (prefills.Count > 0 && count > budget)
            {
                break;
            }
            budget -= count;
            _waiting.RemoveFirst();
            Admit(sequence, slot, reused);
            var forks = new List<ForkRow>(sequence.Forks.Count);
            var separate = new List<PrefillWork>();
            foreach (var fork in sequence.Forks)
            {
                var forkSlot = PickRow(fork, out var forkReused);
                if (_copyRows)
                {
                    // The copy brings the whole prompt; what the row held before is overwritten, so nothing is reused.
                    Admit(fork, forkSlot, 0);
                    fork.CachedPromptTokens = reused;
                    forks.Add(new ForkRow(forkSlot, fork.Id));
                }
                else
                {
                    Admit(fork, forkSlot, forkReused);
                    budget -= fork.PromptLength - forkReused;
                    separate.Add(new PrefillWork(forkSlot, fork.Id, forkReused, fork.PromptLength - forkReused));
                }
            }
            sequence.Forks.Clear();
            prefills.Add(new PrefillWork(slot, sequence.Id, reused, count) { Forks = forks });
            prefills.AddRange(separate);
        }

        DecodeBatch? decode = null;
        var active = new List<DecodeRow>();
        var rows = 0;
        foreach (var sequence in _active.Values)
        {
            if (sequence.Status == SequenceStatus.Running)
            {
                active.Add(new DecodeRow(sequence.Slot, sequence.Id, sequence.ComputedCount));
                rows = Math.Max(rows, sequence.Slot + 1);
            }
        }
        if (active.Count > 0)
        {
            active.Sort((a, b) => a.Slot.CompareTo(b.Slot));
            var fillers = new List<FillerRow>();
            for (var slot = 0; slot < rows; slot++)
            {
                var row = _rows[slot];
                if (row.Owner is { Status: SequenceStatus.Running })
                {
                    continue;
                }
                // The dummy token's K/V land just past the row's valid tokens; a prefilling row's new prompt covers that
                // position in its own (earlier) prefill run only if the prompt reaches it, so the filler goes past the prompt.
                var valid = row.Owner is { } joining ? joining.PromptLength : row.Tokens.Count;
                if (valid >= _maxSequenceLength)
                {
                    // A full idle row gives up its last cached token so the filler has somewhere harmless to write.
                    valid = _maxSequenceLength - 1;
                    if (row.Owner is null)
                    {
                        row.Tokens.RemoveAt(row.Tokens.Count - 1);
                    }
                }
                fillers.Add(new FillerRow(slot, valid));
            }
            decode = new DecodeBatch(rows, active, fillers);
        }

        var released = _released.ToArray();
        _released.Clear();
        return prefills.Count == 0 && decode is null && released.Length == 0 ? StepPlan.Empty : new StepPlan(prefills, decode, released);
    }

    private void Admit(ScheduledSequence sequence, int slot, int reused)
    {
        var row = _rows[slot];
        row.Owner = sequence;
        row.LastUsed = ++_clock;
        sequence.Slot = slot;
        sequence.CachedPromptTokens = reused;
        sequence.ComputedCount = reused;
        sequence.Status = SequenceStatus.Prefilling;
        _active.Add(sequence.Id, sequence);
    }

    private int FreeRows()
    {
        var free = 0;
        foreach (var row in _rows)
        {
            if (row.Owner is null)
            {
                free++;
            }
        }
        return free;
    }

    /// <summary>Records a finished prefill (or, for a fork, the copy of its group's prompt KV into its row): the prompt is cached in the row and the sequence decodes from the next step.</summary>
    public void CompletePrefill(ScheduledSequence sequence)
    {
        if (sequence.Status != SequenceStatus.Prefilling)
        {
            throw new InvalidOperationException($"Sequence {sequence.Id} is {sequence.Status}, not Prefilling.");
        }
        sequence.ComputedCount = sequence.PromptLength;
        sequence.Status = SequenceStatus.Running;
        var row = _rows[sequence.Slot];
        row.Tokens.Clear();
        for (var i = 0; i < sequence.PromptLength; i++)
        {
            row.Tokens.Add(sequence.Tokens[i]);
        }
        row.Alpha = sequence.NtkAlpha;
        row.Scope = sequence.CacheScope;
    }

    /// <summary>Records a finished decode of one row: the fed token's K/V are now cached.</summary>
    public void CompleteDecode(ScheduledSequence sequence)
    {
        if (sequence.Status != SequenceStatus.Running)
        {
            throw new InvalidOperationException($"Sequence {sequence.Id} is {sequence.Status}, not Running.");
        }
        sequence.ComputedCount++;
    }

    /// <summary>Picks a free row for <paramref name="sequence"/>: the longest reusable cached prefix, else an empty row, else the least recently used.</summary>
    private int PickRow(ScheduledSequence sequence, out int reused)
    {
        var best = -1;
        var bestReuse = -1;
        var bestEmpty = false;
        long bestUsed = long.MaxValue;
        for (var slot = 0; slot < _rows.Length; slot++)
        {
            var row = _rows[slot];
            if (row.Owner is not null)
            {
                continue;
            }
            var reuse = _options.EnablePrefixReuse && row.Alpha == sequence.NtkAlpha && string.Equals(row.Scope, sequence.CacheScope, StringComparison.Ordinal)
                ? Math.Min(CommonPrefixLength(row.Tokens, sequence.Tokens), sequence.PromptLength - 1)
                : 0;
            var empty = row.Tokens.Count == 0;
            // Ties (no reuse) prefer an empty row, keeping other rows' caches for their next turn; then the oldest; then the lowest
            // index (fewer rows to bind in the decode view).
            var better = reuse > bestReuse
                || (reuse == bestReuse && empty && !bestEmpty)
                || (reuse == bestReuse && empty == bestEmpty && !empty && row.LastUsed < bestUsed);
            if (better)
            {
                best = slot;
                bestReuse = reuse;
                bestEmpty = empty;
                bestUsed = row.LastUsed;
            }
        }
        reused = Math.Max(bestReuse, 0);
        return best;
    }

    /// <summary>Number of leading tokens two sequences share.</summary>
    public static int CommonPrefixLength(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        var n = Math.Min(a.Count, b.Count);
        var i = 0;
        while (i < n && a[i] == b[i])
        {
            i++;
        }
        return i;
    }

    private sealed class Row
    {
        public ScheduledSequence? Owner { get; set; }
        // Tokens whose K/V are valid in this row, from position 0.
        public List<int> Tokens { get; } = [];
        public double Alpha { get; set; } = double.NaN;
        // Cache scope (tenant) of the tokens above; another scope never reuses them.
        public string? Scope { get; set; }
        public long LastUsed { get; set; }
    }
}
