using Qwen.Inference.Sampling;

namespace Qwen.Inference.Tests.Sampling;

public class SamplerTests
{
    private static SortedSet<int> DrawSet(SamplingOptions options, float[] row, int draws, IEnumerable<int>? prompt = null, int vocabulary = 1000)
    {
        var sampler = new Sampler(options, prompt ?? [], vocabulary);
        var seen = new SortedSet<int>();
        for (var i = 0; i < draws; i++)
        {
            // The penalty state grows with each pick, so feed fresh logits and keep the penalties off here.
            seen.Add(sampler.Sample((float[])row.Clone()).Id);
        }
        return seen;
    }

    [Fact]
    public void Sample_TopKTwo_OnlyEverPicksTheTwoBest()
    {
        float[] row = [1, 5, 3, 4.9f, 2, 4];
        var seen = DrawSet(new SamplingOptions { TopK = 2, TopP = 1, Seed = 7 }, row, 300);
        Assert.Equal([1, 3], seen);
    }

    [Fact]
    public void Sample_TopPNucleus_PicksExactlyTheNucleus()
    {
        float[] row = [.. new[] { 0.5, 0.3, 0.1, 0.06, 0.04 }.Select(p => (float)Math.Log(p))];
        var seen = DrawSet(new SamplingOptions { TopP = 0.85, Seed = 11 }, row, 400);
        Assert.Equal([0, 1, 2], seen);
    }

    [Fact]
    public void Sample_LogitBias_ForcesAndForbidsTokens()
    {
        float[] row = [0, 0, 0, 0];
        var forced = DrawSet(new SamplingOptions { TopP = 1, Seed = 1, LogitBias = new Dictionary<int, float> { [2] = 100 } }, row, 100);
        Assert.Equal([2], forced);
        var banned = DrawSet(new SamplingOptions { TopP = 1, Seed = 1, LogitBias = new Dictionary<int, float> { [0] = -100, [3] = -100 } }, row, 200);
        Assert.Equal([1, 2], banned);
    }

    [Fact]
    public void Sample_RepetitionPenalty_CountsPromptIdsOncePerDistinctId()
    {
        // Greedy: id 0 (logit 3) beats id 1 (logit 2.5) until the penalty 1.5 divides it to 2 (once, although the prompt repeats it).
        float[] row = [3f, 2.5f, -1f];
        var sampler = new Sampler(SamplingOptions.Greedy with { RepetitionPenalty = 1.5 }, [0, 0, 0, 0], vocabularySize: 3);
        var logits = (float[])row.Clone();
        var token = sampler.Sample(logits);
        Assert.Equal(1, token.Id);
        Assert.Equal([2f, 2.5f, -1f], logits);
    }

    [Fact]
    public void Sample_RepetitionPenalty_IncludesGeneratedTokens()
    {
        var sampler = new Sampler(SamplingOptions.Greedy with { RepetitionPenalty = 2 }, [], vocabularySize: 3);
        Assert.Equal(0, sampler.Sample([4f, 3f, -1f]).Id);
        var logits = new[] { 4f, 3f, -1f };
        Assert.Equal(1, sampler.Sample(logits).Id); // 4/2 = 2 < 3
        var third = new[] { 4f, 3f, -1f };
        Assert.Equal(0, sampler.Sample(third).Id);  // both penalised: 2 vs 1.5
        Assert.Equal([2f, 1.5f, -1f], third);
    }

    [Fact]
    public void Sample_PresenceAndFrequency_PenaliseOnlyGeneratedTokensByCount()
    {
        var sampler = new Sampler(SamplingOptions.Greedy with { PresencePenalty = 0.5, FrequencyPenalty = 1 }, [1, 1, 1], vocabularySize: 3);
        var first = new[] { 3f, 2f, 0f };
        Assert.Equal(0, sampler.Sample(first).Id);
        Assert.Equal([3f, 2f, 0f], first); // prompt ids are not penalised
        var second = new[] { 3f, 2f, 0f };
        Assert.Equal(1, sampler.Sample(second).Id);
        Assert.Equal([1.5f, 2f, 0f], second);
        var third = new[] { 3f, 2f, 0f };
        sampler.Sample(third);
        Assert.Equal([1.5f, 0.5f, 0f], third);
    }

    [Fact]
    public void Sample_PaddingRowHasTheLargestLogit_IsNeverPicked()
    {
        var row = new float[151936];
        row[151900] = 50;
        row[42] = 10;
        var sampler = new Sampler(SamplingOptions.Greedy, []);
        Assert.Equal(42, sampler.Sample(row).Id);
    }

    [Fact]
    public void Sample_SameSeed_GivesTheSameSequenceAndAnotherSeedDiffers()
    {
        var row = new float[64];
        for (var i = 0; i < row.Length; i++)
        {
            row[i] = (float)Math.Sin(i);
        }
        int[] Run(long seed)
        {
            var sampler = new Sampler(new SamplingOptions { TopP = 1, Temperature = 1, Seed = seed }, [], 64);
            return [.. Enumerable.Range(0, 40).Select(_ => sampler.Sample((float[])row.Clone()).Id)];
        }
        Assert.Equal(Run(1234), Run(1234));
        Assert.NotEqual(Run(1234), Run(1235));
    }

    [Fact]
    public void Sample_Logprobs_AreLogSoftmaxOfTheProcessedLogits()
    {
        float[] row = [.. new[] { 0.1, 0.6, 0.3 }.Select(p => (float)Math.Log(p))];
        var greedy = new Sampler(SamplingOptions.Greedy, [], 3, logprobs: true, topLogprobs: 2).Sample(row);
        Assert.Equal(1, greedy.Id);
        Assert.Equal(Math.Log(0.6), greedy.Logprob, 5);
        Assert.Equal([1, 2], greedy.TopLogprobs.Select(t => t.Id));
        Assert.Equal(Math.Log(0.3), greedy.TopLogprobs[1].Logprob, 5);

        // Temperature 0.5 squares the probabilities before renormalising: 0.36/0.46, 0.09/0.46, 0.01/0.46.
        float[] row2 = [.. new[] { 0.1, 0.6, 0.3 }.Select(p => (float)Math.Log(p))];
        var sampled = new Sampler(new SamplingOptions { Temperature = 0.5, TopP = 1, Seed = 3 }, [], 3, logprobs: true, topLogprobs: 3).Sample(row2);
        var expected = new Dictionary<int, double> { [0] = 0.01 / 0.46, [1] = 0.36 / 0.46, [2] = 0.09 / 0.46 };
        Assert.Equal(Math.Log(expected[sampled.Id]), sampled.Logprob, 4);
        Assert.Equal([1, 2, 0], sampled.TopLogprobs.Select(t => t.Id));
        Assert.Equal(Math.Log(expected[0]), sampled.TopLogprobs[2].Logprob, 4);
    }

    [Fact]
    public void Sample_NoLogprobsRequested_ReportsNaNAndNoAlternatives()
    {
        var token = new Sampler(SamplingOptions.Greedy, [], 3).Sample([0f, 1f, 0f]);
        Assert.True(float.IsNaN(token.Logprob));
        Assert.Empty(token.TopLogprobs);
    }

    [Fact]
    public void Sample_TopPAfterTopKAfterTemperature_RunInHfOrder()
    {
        // Probabilities 0.4 0.3 0.2 0.1; top-k 3 drops id 3; renormalised 0.444 0.333 0.222; top-p 0.7 removes cumulative ≤ 0.3 → id 2.
        float[] row = [.. new[] { 0.4, 0.3, 0.2, 0.1 }.Select(p => (float)Math.Log(p))];
        var seen = DrawSet(new SamplingOptions { TopK = 3, TopP = 0.7, Seed = 5 }, row, 300, vocabulary: 4);
        Assert.Equal([0, 1], seen);
    }
}
