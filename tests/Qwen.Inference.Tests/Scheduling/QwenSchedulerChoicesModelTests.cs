using Qwen.Inference.Generation;
using Qwen.Inference.Runtime;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;
using Qwen.Inference.Tokenization;
using Qwen.Testing;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>n = 4 on a real ONNX Runtime session (tiny seeded package): one prefill, forked KV rows, one batch, and the same tokens as single requests.</summary>
public sealed class QwenSchedulerChoicesModelTests
{
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    private static async Task<QwenScheduler> CreateScheduler(int batch)
    {
        var package = ModelPackage.Open(await TinyPackage.Fp32Async());
        return new QwenScheduler(package, Tokenizer.Value, new QwenSchedulerOptions
        {
            Runtime = new ModelRuntimeOptions { IntraOpThreads = 1 },
            Scheduling = new SchedulerOptions { MaxBatchSize = batch, EnablePrefixReuse = false },
        });
    }

    // 20 tokens: above seq_length 16, so the group runs with NTK α > 1 and LogN, as a long prompt would.
    private static int[] Prompt() => [.. Enumerable.Range(0, 20).Select(i => (i * 37 + 11) % 320)];

    private static GenerationRequest Request(SamplingOptions sampling) => new() { PromptTokens = Prompt(), MaxNewTokens = 12, Sampling = sampling };

    private static SamplingOptions Seeded(long seed) => new() { Temperature = 0.9, TopP = 0.95, Seed = seed };

    private static async Task<int[][]> CollectChoices(IAsyncEnumerable<ChoiceUpdate> updates, int n)
    {
        var tokens = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        await foreach (var (index, update) in updates)
        {
            tokens[index].AddRange(update.Tokens.Select(t => t.Id));
        }
        return [.. tokens.Select(t => t.ToArray())];
    }

    [Fact]
    public async Task GenerateChoicesAsync_FourGreedyChoices_OnePrefillOneBatchEachEqualsASingleRun()
    {
        await using var engine = await CreateScheduler(batch: 4);
        var single = await UpdateStreams.TokenIdsAsync(engine.GenerateAsync(Request(SamplingOptions.Greedy)));
        var before = engine.Metrics.Snapshot();

        var choices = await CollectChoices(engine.GenerateChoicesAsync([.. Enumerable.Range(0, 4).Select(_ => Request(SamplingOptions.Greedy))]), 4);

        var after = engine.Metrics.Snapshot();
        Assert.Equal(12, single.Length);
        Assert.All(choices, c => Assert.Equal(single, c));
        Assert.Equal(1, after.PrefillRuns - before.PrefillRuns);
        Assert.Equal(Prompt().Length, after.PrefillTokens - before.PrefillTokens);
        Assert.Equal(3, after.ForkedRows - before.ForkedRows);
        // All four decoded in the same runs: 11 decode steps of 4 rows each.
        Assert.Equal(11, after.DecodeSteps - before.DecodeSteps);
        Assert.Equal(44, after.DecodeTokens - before.DecodeTokens);
    }

    [Fact]
    public async Task GenerateChoicesAsync_FourSeededChoices_ReproducibleAndEqualToTheSameSeedAlone()
    {
        await using var engine = await CreateScheduler(batch: 4);
        GenerationRequest[] requests = [.. Enumerable.Range(1, 4).Select(seed => Request(Seeded(seed)))];

        var first = await CollectChoices(engine.GenerateChoicesAsync(requests), 4);
        var second = await CollectChoices(engine.GenerateChoicesAsync(requests), 4);

        Assert.Equal(first, second);
        Assert.True(first.Select(c => string.Join(",", c)).Distinct().Count() > 1, "four seeds gave one output: the seeds did not reach the samplers");
        await using var solo = await CreateScheduler(batch: 1);
        for (var i = 0; i < requests.Length; i++)
        {
            Assert.Equal(await UpdateStreams.TokenIdsAsync(solo.GenerateAsync(requests[i])), first[i]);
        }
        Assert.Equal(2, engine.Metrics.Snapshot().PrefillRuns);
    }

    [Fact]
    public async Task StartChoices_CancelTheChoiceThatPrefilled_OthersFinishUnchanged()
    {
        await using var engine = await CreateScheduler(batch: 3);
        var single = await UpdateStreams.TokenIdsAsync(engine.GenerateAsync(Request(SamplingOptions.Greedy)));
        var streams = engine.StartChoices([.. Enumerable.Range(0, 3).Select(_ => Request(SamplingOptions.Greedy))]);

        using var cancel = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in streams[0].WithCancellation(cancel.Token))
            {
                cancel.Cancel();
            }
        });
        var rest = await Task.WhenAll(UpdateStreams.TokenIdsAsync(streams[1]), UpdateStreams.TokenIdsAsync(streams[2]));

        Assert.All(rest, r => Assert.Equal(single, r));
        Assert.Equal(1, engine.Metrics.Snapshot().CancelledRequests);
    }

    [Fact]
    public async Task GenerateChoicesAsync_MoreChoicesThanRows_ClearErrorBeforeCompute()
    {
        await using var engine = await CreateScheduler(batch: 2);

        var error = Assert.Throws<ChoiceCountExceededException>(() => engine.GenerateChoicesAsync([.. Enumerable.Range(0, 3).Select(_ => Request(SamplingOptions.Greedy))]));

        Assert.Equal("n = 3 asks for 3 choices; this engine decodes at most 2 together (one KV row each). Ask for n ≤ 2.", error.Message);
        Assert.Equal(0, engine.Metrics.Snapshot().PrefillRuns);
    }
}
