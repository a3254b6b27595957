using Qwen.Inference.Sampling;

namespace Qwen.Inference.Tests.Sampling;

public class LogitStagesTests
{
    private static int[] Surviving(ReadOnlySpan<float> logits)
    {
        var ids = new List<int>();
        for (var i = 0; i < logits.Length; i++)
        {
            if (!float.IsNegativeInfinity(logits[i]))
            {
                ids.Add(i);
            }
        }
        return [.. ids];
    }

    private static float[] LogsOf(params double[] probabilities) => [.. probabilities.Select(p => (float)Math.Log(p))];

    [Theory]
    [InlineData(1, new[] { 1, 3 })]
    [InlineData(2, new[] { 1, 3 })]
    [InlineData(3, new[] { 1, 3, 5 })]
    [InlineData(5, new[] { 1, 2, 3, 4, 5 })]
    public void ApplyTopK_FixedRow_KeepsTheKLargestAndTiesWithTheKth(int k, int[] expected)
    {
        float[] logits = [1, 5, 3, 5, 2, 4];
        LogitStages.ApplyTopK(logits, k);
        Assert.Equal(expected, Surviving(logits));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    [InlineData(100)]
    public void ApplyTopK_ZeroOrWholeRow_IsOff(int k)
    {
        float[] logits = [1, 5, 3, 5, 2, 4];
        LogitStages.ApplyTopK(logits, k);
        Assert.Equal([1f, 5, 3, 5, 2, 4], logits);
    }

    [Theory]
    [InlineData(0.85, new[] { 0, 1, 2 })] // remove cumulative ≤ 0.15: 0.04, 0.10
    [InlineData(0.75, new[] { 0, 1 })]    // remove cumulative ≤ 0.25: 0.04, 0.10, 0.20
    [InlineData(0.4, new[] { 0 })]        // remove cumulative ≤ 0.60: all but the best
    [InlineData(0.0, new[] { 0 })]        // keeps at least one
    [InlineData(0.95, new[] { 0, 1, 2, 3 })]  // remove cumulative ≤ 0.05: 0.04
    public void ApplyTopP_FixedRow_KeepsTheHfNucleus(double topP, int[] expected)
    {
        var logits = LogsOf(0.5, 0.3, 0.1, 0.06, 0.04);
        LogitStages.ApplyTopP(logits, topP, new float[logits.Length]);
        Assert.Equal(expected, Surviving(logits));
    }

    [Fact]
    public void ApplyTopP_One_IsOff()
    {
        var logits = LogsOf(0.5, 0.3, 0.1, 0.06, 0.04);
        LogitStages.ApplyTopP(logits, 1.0, new float[logits.Length]);
        Assert.Equal([0, 1, 2, 3, 4], Surviving(logits));
    }

    [Fact]
    public void ApplyTopP_LongTailBelowTheFloor_RemovesTailAndSortsOnlyCandidates()
    {
        // 1000 ids: 0.85 + 0.07 + 0.07 + 997 ids sharing 0.01 (each below the (1 − p)/V floor of 1e-4).
        var probabilities = new double[1000];
        probabilities[0] = 0.85;
        probabilities[1] = 0.07;
        probabilities[2] = 0.07;
        for (var i = 3; i < probabilities.Length; i++)
        {
            probabilities[i] = 0.01 / 997;
        }
        var logits = LogsOf(probabilities);
        LogitStages.ApplyTopP(logits, 0.9, new float[logits.Length]);
        // Ascending: tail (0.01) removed, then one 0.07 (cumulative 0.08 ≤ 0.1) removed; of the tie the higher id goes.
        Assert.Equal([0, 1], Surviving(logits));
    }

    [Fact]
    public void ApplyRepetitionPenalty_PositiveAndNegative_DividesOrMultipliesOncePerId()
    {
        float[] logits = [2, -2, 1, 0.5f];
        LogitStages.ApplyRepetitionPenalty(logits, [0, 1], 2f);
        Assert.Equal([1f, -4f, 1f, 0.5f], logits);
    }

    [Fact]
    public void ApplyPresenceAndFrequencyPenalties_Counts_SubtractCountTimesFrequencyPlusPresence()
    {
        float[] logits = [1, 1, 1, 1];
        LogitStages.ApplyPresenceAndFrequencyPenalties(logits, new Dictionary<int, int> { [2] = 3, [3] = 1 }, 0.5f, 0.25f);
        Assert.Equal([1f, 1f, -0.25f, 0.25f], logits);
    }

    [Fact]
    public void ApplyLogitBias_ListedIds_AddsBiasAndIgnoresIdsOutsideTheRow()
    {
        float[] logits = [1, 1, 1, 1];
        LogitStages.ApplyLogitBias(logits, new Dictionary<int, float> { [1] = 5, [3] = -100, [99] = 7 });
        Assert.Equal([1f, 6f, 1f, -99f], logits);
    }

    [Fact]
    public void MaskBeyondVocabulary_QwenRow_MasksThePaddingRowsOnly()
    {
        var logits = new float[151936];
        LogitStages.MaskBeyondVocabulary(logits, 151851);
        Assert.Equal(151851, Surviving(logits).Length);
        Assert.Equal(0f, logits[151850]);
        Assert.True(float.IsNegativeInfinity(logits[151851]));
        Assert.True(float.IsNegativeInfinity(logits[151935]));
    }

    [Fact]
    public void ApplyTemperature_Two_HalvesEveryLogit()
    {
        float[] logits = [2, 4, float.NegativeInfinity];
        LogitStages.ApplyTemperature(logits, 2f);
        Assert.Equal([1f, 2f, float.NegativeInfinity], logits);
    }

    [Fact]
    public void Softmax_MaskedEntries_GetZeroAndTheRestSumToOne()
    {
        var logits = LogsOf(0.2, 0.5, 0.3).Append(float.NegativeInfinity).ToArray();
        var probabilities = new float[4];
        LogitStages.Softmax(logits, probabilities);
        Assert.Equal(0.2f, probabilities[0], 1e-6f);
        Assert.Equal(0.5f, probabilities[1], 1e-6f);
        Assert.Equal(0.3f, probabilities[2], 1e-6f);
        Assert.Equal(0f, probabilities[3]);
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.19, 0)]
    [InlineData(0.21, 2)]
    [InlineData(0.69, 2)]
    [InlineData(0.71, 3)]
    [InlineData(0.999999, 3)]
    public void Pick_UniformDraw_WalksTheCumulativeDistributionSkippingZeros(double uniform, int expected)
    {
        float[] probabilities = [0.2f, 0f, 0.5f, 0.3f];
        Assert.Equal(expected, LogitStages.Pick(probabilities, uniform));
    }

    [Fact]
    public void ArgMax_Ties_ReturnsTheLowestId()
    {
        Assert.Equal(1, LogitStages.ArgMax([0f, 3f, 1f, 3f]));
    }

    [Fact]
    public void TopLogprobs_FixedRow_ReturnsBestFirstWithLogSoftmaxValuesAndSkipsMasked()
    {
        var logits = LogsOf(0.1, 0.6, 0.3).Append(float.NegativeInfinity).ToArray();
        var lse = LogitStages.LogSumExp(logits, new float[4]);
        var top = LogitStages.TopLogprobs(logits, lse, 5);
        Assert.Equal([1, 2, 0], top.Select(t => t.Id));
        Assert.Equal(Math.Log(0.6), top[0].Logprob, 5);
        Assert.Equal(Math.Log(0.3), top[1].Logprob, 5);
        Assert.Equal(Math.Log(0.1), top[2].Logprob, 5);
    }
}

public class LogitStagesTopPEquivalenceTests
{
    /// <summary>The HF definition, literally: sort ascending, cumulative sum, remove ≤ 1 − p, keep the best.</summary>
    private static HashSet<int> SortedReference(float[] logits, double topP)
    {
        var probs = new float[logits.Length];
        LogitStages.Softmax(logits, probs);
        var order = Enumerable.Range(0, logits.Length).OrderBy(i => probs[i]).ThenByDescending(i => i).ToArray();
        var kept = new HashSet<int>(order);
        var cumulative = 0.0;
        for (var j = 0; j < order.Length - 1; j++)
        {
            cumulative += probs[order[j]];
            if (cumulative > 1 - topP)
            {
                break;
            }
            kept.Remove(order[j]);
        }
        return kept;
    }

    [Theory]
    [InlineData(1, 0.8, 1.0)]
    [InlineData(2, 0.8, 8.0)]
    [InlineData(3, 0.95, 3.0)]
    [InlineData(4, 0.3, 0.5)]
    [InlineData(5, 0.999, 2.0)]
    public void ApplyTopP_RandomRows_KeepsTheSameSetAsSortingEverything(int seed, double topP, double scale)
    {
        var rng = new Random(seed);
        var logits = new float[5000];
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)(rng.NextDouble() * scale);
        }
        var expected = SortedReference(logits, topP);
        LogitStages.ApplyTopP(logits, topP, new float[logits.Length]);
        var actual = Enumerable.Range(0, logits.Length).Where(i => !float.IsNegativeInfinity(logits[i])).ToHashSet();
        Assert.True(expected.SetEquals(actual), $"expected {expected.Count} kept, got {actual.Count}");
    }
}
