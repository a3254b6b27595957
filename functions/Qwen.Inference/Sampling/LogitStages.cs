using System.Buffers;
using System.Numerics.Tensors;

namespace Qwen.Inference.Sampling;

/// <summary>
/// The sampler's stages as small, ordered, in-place operations on one row of logits (spec §5.5):
/// repetition penalty → presence/frequency penalties → logit bias → vocabulary mask → grammar mask → temperature → top-k → top-p → softmax → pick.
/// </summary>
/// <remarks>
/// Every stage is a pure function of its arguments, so the continuous-batching scheduler can run them per row.
/// Filtered tokens are set to negative infinity, which the softmax turns into probability 0.
/// </remarks>
public static class LogitStages
{
    /// <summary>Hugging Face repetition penalty: for each distinct id seen in the prompt or the output, divide a positive logit by <paramref name="penalty"/>, multiply a non-positive one.</summary>
    /// <remarks>Applied once per distinct id, not per occurrence (HF <c>RepetitionPenaltyLogitsProcessor</c>). Ids outside the row are ignored.</remarks>
    public static void ApplyRepetitionPenalty(Span<float> logits, IEnumerable<int> distinctIds, float penalty)
    {
        if (penalty == 1f)
        {
            return;
        }
        foreach (var id in distinctIds)
        {
            if ((uint)id < (uint)logits.Length)
            {
                var value = logits[id];
                logits[id] = value < 0 ? value * penalty : value / penalty;
            }
        }
    }

    /// <summary>OpenAI presence and frequency penalties over the generated tokens: <c>logit -= count·frequency + (count &gt; 0 ? presence : 0)</c>.</summary>
    public static void ApplyPresenceAndFrequencyPenalties(Span<float> logits, IReadOnlyDictionary<int, int> generatedCounts, float presencePenalty, float frequencyPenalty)
    {
        if (presencePenalty == 0f && frequencyPenalty == 0f)
        {
            return;
        }
        foreach (var (id, count) in generatedCounts)
        {
            if ((uint)id < (uint)logits.Length && count > 0)
            {
                logits[id] -= count * frequencyPenalty + presencePenalty;
            }
        }
    }

    /// <summary>OpenAI <c>logit_bias</c>: adds the bias of each listed id to its logit. Ids outside the row are ignored.</summary>
    public static void ApplyLogitBias(Span<float> logits, IReadOnlyDictionary<int, float>? bias)
    {
        if (bias is null)
        {
            return;
        }
        foreach (var (id, value) in bias)
        {
            if ((uint)id < (uint)logits.Length)
            {
                logits[id] += value;
            }
        }
    }

    /// <summary>Sets the logits of ids ≥ <paramref name="vocabularySize"/> to negative infinity.</summary>
    /// <remarks>The model has 151,936 rows but the tokenizer only 151,851 ids (spec §3.9); the padding rows map to no token and must never be picked.</remarks>
    public static void MaskBeyondVocabulary(Span<float> logits, int vocabularySize)
    {
        if (vocabularySize < logits.Length)
        {
            logits[Math.Max(vocabularySize, 0)..].Fill(float.NegativeInfinity);
        }
    }

    /// <summary>Constrained decoding: sets the logit of every id whose bit is clear in <paramref name="allowed"/> (bit <c>id % 64</c> of word <c>id / 64</c>) to negative infinity.</summary>
    /// <remarks>Ids beyond the bitset are masked too. Whole words are filled or skipped at once, so a mask costs about one pass over the row.</remarks>
    public static void ApplyAllowedTokens(Span<float> logits, ReadOnlySpan<ulong> allowed)
    {
        for (var start = 0; start < logits.Length; start += 64)
        {
            var word = start >> 6 < allowed.Length ? allowed[start >> 6] : 0UL;
            var row = logits.Slice(start, Math.Min(64, logits.Length - start));
            if (word == ulong.MaxValue)
            {
                continue;
            }
            if (word == 0)
            {
                row.Fill(float.NegativeInfinity);
                continue;
            }
            for (var i = 0; i < row.Length; i++)
            {
                if ((word & (1UL << i)) == 0)
                {
                    row[i] = float.NegativeInfinity;
                }
            }
        }
    }

    /// <summary>Divides every logit by <paramref name="temperature"/> (skipped at 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is not positive; callers treat near-zero temperature as greedy instead.</exception>
    public static void ApplyTemperature(Span<float> logits, float temperature)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(temperature);
        if (temperature != 1f)
        {
            TensorPrimitives.Divide(logits, temperature, logits);
        }
    }

    /// <summary>HF top-k: removes every logit strictly below the k-th largest (ties with it are kept); 0 or ≥ the row length disables it.</summary>
    public static void ApplyTopK(Span<float> logits, int topK)
    {
        if (topK <= 0 || topK >= logits.Length)
        {
            return;
        }
        // A min-heap of the k largest seen so far: O(V log k), no copy of the row.
        var heap = new PriorityQueue<float, float>(topK);
        for (var i = 0; i < logits.Length; i++)
        {
            var value = logits[i];
            if (heap.Count < topK)
            {
                heap.Enqueue(value, value);
            }
            else if (value > heap.Peek())
            {
                heap.EnqueueDequeue(value, value);
            }
        }
        var threshold = heap.Peek();
        for (var i = 0; i < logits.Length; i++)
        {
            if (logits[i] < threshold)
            {
                logits[i] = float.NegativeInfinity;
            }
        }
    }

    /// <summary>
    /// HF top-p (nucleus): sorts ascending, removes tokens whose cumulative probability is ≤ 1 − <paramref name="topP"/>,
    /// always keeps the most likely token. <paramref name="topP"/> ≥ 1 disables it.
    /// </summary>
    /// <param name="logits">One row of logits, filtered in place.</param>
    /// <param name="topP">Nucleus mass in [0, 1].</param>
    /// <param name="scratch">Work space at least as long as <paramref name="logits"/>.</param>
    /// <remarks>
    /// Only tokens with probability ≥ (1 − p)/V are ordered: the ones below that carry less than 1 − p together, so their
    /// cumulative sum in ascending order stays ≤ 1 − p and HF removes all of them anyway. That leaves a few hundred
    /// candidates for a trained model instead of 151,936, which are then split by mass in expected linear time.
    /// </remarks>
    public static void ApplyTopP(Span<float> logits, double topP, Span<float> scratch)
    {
        if (topP >= 1.0)
        {
            return;
        }
        var probs = scratch[..logits.Length];
        Softmax(logits, probs);
        var removable = 1.0 - Math.Max(topP, 0.0);
        var floor = (float)(removable / logits.Length);

        // Candidates as one sortable key each: probability bits (monotonic for non-negative floats) above, then
        // (int.MaxValue − id), so among equal probabilities the higher id comes first and is removed first.
        var removedMass = 0.0;
        var keys = ArrayPool<long>.Shared.Rent(probs.Length);
        try
        {
            var count = 0;
            for (var i = 0; i < probs.Length; i++)
            {
                if (probs[i] < floor)
                {
                    removedMass += probs[i];
                    logits[i] = float.NegativeInfinity;
                }
                else
                {
                    keys[count++] = ((long)BitConverter.SingleToInt32Bits(probs[i]) << 32) | (uint)(int.MaxValue - i);
                }
            }
            RemoveLowTail(keys.AsSpan(0, count), probs, logits, removable - removedMass);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(keys);
        }
    }

    /// <summary>
    /// Removes the longest ascending run of <paramref name="candidates"/> whose cumulative probability stays ≤
    /// <paramref name="budget"/>, never the most likely one. Equivalent to sorting and scanning, in expected linear
    /// time: quickselect-style partitions decide whole blocks at once by their mass, and only the last small block is sorted.
    /// </summary>
    private static void RemoveLowTail(Span<long> candidates, ReadOnlySpan<float> probs, Span<float> logits, double budget)
    {
        static int Id(long key) => int.MaxValue - (int)(key & 0xFFFFFFFF);

        if (candidates.Length <= 1)
        {
            return;
        }
        // The most likely token always stays: park it at the end, outside the working range.
        var maxAt = 0;
        for (var i = 1; i < candidates.Length; i++)
        {
            if (candidates[i] > candidates[maxAt])
            {
                maxAt = i;
            }
        }
        (candidates[maxAt], candidates[^1]) = (candidates[^1], candidates[maxAt]);
        var work = candidates[..^1];

        int lo = 0, hi = work.Length;
        while (hi - lo > 32)
        {
            // Keys are unique, so the median of three distinct keys leaves at least one key on each side.
            long a = work[lo], b = work[lo + (hi - lo) / 2], c = work[hi - 1];
            var pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            var mid = lo;
            var massLow = 0.0;
            for (var i = lo; i < hi; i++)
            {
                if (work[i] <= pivot)
                {
                    (work[i], work[mid]) = (work[mid], work[i]);
                    massLow += probs[Id(work[mid])];
                    mid++;
                }
            }
            if (massLow <= budget)
            {
                for (var i = lo; i < mid; i++)
                {
                    logits[Id(work[i])] = float.NegativeInfinity;
                }
                budget -= massLow;
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }
        var rest = work[lo..hi];
        rest.Sort();
        var cumulative = 0.0;
        foreach (var key in rest)
        {
            var id = Id(key);
            cumulative += probs[id];
            if (cumulative > budget)
            {
                break;
            }
            logits[id] = float.NegativeInfinity;
        }
    }

    /// <summary>Numerically stable softmax of <paramref name="logits"/> into <paramref name="probabilities"/> (negative infinity becomes 0).</summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        var max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, probabilities);
        TensorPrimitives.Exp(probabilities, probabilities);
        var sum = TensorPrimitives.Sum<float>(probabilities);
        TensorPrimitives.Divide(probabilities, sum, probabilities);
    }

    /// <summary>The log of the softmax denominator: <c>max + ln Σ exp(logit − max)</c>; subtract it from a logit to get its log-probability.</summary>
    /// <param name="logits">One row of logits.</param>
    /// <param name="scratch">Work space at least as long as <paramref name="logits"/>.</param>
    public static float LogSumExp(ReadOnlySpan<float> logits, Span<float> scratch)
    {
        var work = scratch[..logits.Length];
        var max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, work);
        TensorPrimitives.Exp(work, work);
        return max + (float)Math.Log(TensorPrimitives.Sum<float>(work));
    }

    /// <summary>Greedy pick: the index of the largest logit (the lowest index among ties, like <c>torch.argmax</c>).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits) => TensorPrimitives.IndexOfMax(logits);

    /// <summary>Multinomial pick from probabilities that sum to about 1, using one uniform draw.</summary>
    /// <param name="probabilities">Softmax output; zeros are never picked.</param>
    /// <param name="uniform">A draw in [0, 1).</param>
    public static int Pick(ReadOnlySpan<float> probabilities, double uniform)
    {
        var target = uniform * TensorPrimitives.Sum<float>(probabilities);
        var cumulative = 0.0;
        var last = -1;
        for (var i = 0; i < probabilities.Length; i++)
        {
            var p = probabilities[i];
            if (p <= 0f)
            {
                continue;
            }
            cumulative += p;
            last = i;
            if (cumulative > target)
            {
                return i;
            }
        }
        // Rounding can leave the target just above the total: the last token with mass takes it.
        return last >= 0 ? last : ArgMax(probabilities);
    }

    /// <summary>The <paramref name="count"/> largest logits as (id, log-probability), best first; masked (−∞) tokens are left out.</summary>
    /// <param name="logits">Processed logits.</param>
    /// <param name="logSumExp">From <see cref="LogSumExp"/> over the same row.</param>
    /// <param name="count">How many alternatives (0 gives none).</param>
    public static List<(int Id, float Logprob)> TopLogprobs(ReadOnlySpan<float> logits, float logSumExp, int count)
    {
        var result = new List<(int Id, float Logprob)>(Math.Max(count, 0));
        if (count <= 0)
        {
            return result;
        }
        // Min-heap keyed by (logit, -id) so equal logits prefer the lower id.
        var heap = new PriorityQueue<int, (float Value, int NegId)>(count);
        for (var i = 0; i < logits.Length; i++)
        {
            var value = logits[i];
            if (float.IsNegativeInfinity(value))
            {
                continue;
            }
            var key = (value, -i);
            if (heap.Count < count)
            {
                heap.Enqueue(i, key);
            }
            else
            {
                heap.TryPeek(out _, out var min);
                if (value > min.Value || (value == min.Value && -i > min.NegId))
                {
                    heap.EnqueueDequeue(i, key);
                }
            }
        }
        while (heap.TryDequeue(out var id, out var key))
        {
            result.Add((id, key.Value - logSumExp));
        }
        result.Reverse();
        return result;
    }
}
