using Qwen.Inference.Generation;
using Qwen.Inference.Scheduling;
using Qwen.Inference.Tests.ChatClient;
using Qwen.Inference.Tokenization;
using Qwen.Testing;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>Choices of one prompt (OpenAI <c>n</c>) over the scripted runner: one prefill, forked rows, one batch, admission and cancellation.</summary>
public sealed class QwenSchedulerChoicesTests
{
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    private static QwenScheduler Create(ScriptedRunner runner, int maxQueue = 16) =>
        new(FakeGenerationEngine.TestManifest, Tokenizer.Value, runner, new SchedulerOptions { MaxQueueLength = maxQueue });

    private static int[] Prompt(int seed, int length) => Enumerable.Range(0, length).Select(i => 1000 + (seed * 7919 + i * 104729) % 4000).ToArray();

    private static int[] Alone(int[] prompt, int count)
    {
        var sequence = prompt.ToList();
        for (var i = 0; i < count; i++)
        {
            sequence.Add(ScriptedRunner.Next(sequence, sequence.Count));
        }
        return [.. sequence.Skip(prompt.Length)];
    }

    private static GenerationRequest[] Choices(int[] prompt, int n, int maxNew) =>
        [.. Enumerable.Range(0, n).Select(_ => new GenerationRequest { PromptTokens = prompt, MaxNewTokens = maxNew })];

    private static async Task<int[][]> CollectChoices(IAsyncEnumerable<ChoiceUpdate> updates, int n)
    {
        var tokens = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        var finished = new int[n];
        await foreach (var (index, update) in updates)
        {
            tokens[index].AddRange(update.Tokens.Select(t => t.Id));
            finished[index] += update.FinishReason is null ? 0 : 1;
        }
        Assert.All(finished, f => Assert.Equal(1, f));
        return [.. tokens.Select(t => t.ToArray())];
    }

    [Fact]
    public async Task GenerateChoicesAsync_FourChoices_OnePrefillThreeRowCopiesAllDecodedTogether()
    {
        var runner = new ScriptedRunner(maxBatch: 4, maxSequence: 64);
        await using var engine = Create(runner);
        var prompt = Prompt(1, 9);

        var outputs = await CollectChoices(engine.GenerateChoicesAsync(Choices(prompt, 4, 6)), 4);

        Assert.All(outputs, o => Assert.Equal(Alone(prompt, 6), o));
        Assert.Equal(prompt.Length, runner.PrefilledTokens);
        Assert.Equal(3, runner.Copies.Count);
        Assert.All(runner.Copies, c => Assert.Equal(prompt.Length, c.Positions));
        Assert.Single(runner.Copies.Select(c => c.From).Distinct());
        Assert.Equal(3, runner.Copies.Select(c => c.To).Distinct().Count());
        Assert.Equal(Enumerable.Repeat(4, 5), runner.DecodeBatchSizes);
        var metrics = engine.Metrics.Snapshot();
        Assert.Equal(1, metrics.PrefillRuns);
        Assert.Equal(3, metrics.ForkedRows);
        Assert.Equal(3 * prompt.Length, metrics.ForkedPromptTokens);
        Assert.Equal(5, metrics.DecodeSteps);
        Assert.Equal(4, metrics.Requests);
        // Every row now holds the prompt and its output as cached tokens, forks included (rows are updated when released).
        await WaitUntil(() => engine.Metrics.Snapshot().RunningRequests == 0);
        for (var slot = 0; slot < 4; slot++)
        {
            Assert.Equal([.. prompt, .. Alone(prompt, 5)], engine.CachedTokens(slot));
        }
    }

    [Fact]
    public async Task GenerateChoicesAsync_RunnerCannotCopyRows_PrefillsEachChoiceAndStillDecodesTogether()
    {
        var runner = new ScriptedRunner(maxBatch: 3, maxSequence: 64) { CanCopyRows = false };
        await using var engine = Create(runner);
        var prompt = Prompt(2, 7);

        var outputs = await CollectChoices(engine.GenerateChoicesAsync(Choices(prompt, 3, 4)), 3);

        Assert.All(outputs, o => Assert.Equal(Alone(prompt, 4), o));
        Assert.Empty(runner.Copies);
        Assert.Equal(3 * prompt.Length, runner.PrefilledTokens);
        Assert.Equal(Enumerable.Repeat(3, 3), runner.DecodeBatchSizes);
    }

    [Fact]
    public async Task GenerateChoicesAsync_MoreChoicesThanRows_RefusesBeforeCompute()
    {
        var runner = new ScriptedRunner(maxBatch: 4, maxSequence: 64);
        await using var engine = Create(runner);

        var error = Assert.Throws<ChoiceCountExceededException>(() => engine.GenerateChoicesAsync(Choices(Prompt(1, 5), 5, 3)));

        Assert.Equal(5, error.Choices);
        Assert.Equal(4, error.Rows);
        Assert.Contains("n = 5", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, runner.Calls);
        Assert.Equal(0, engine.Metrics.Snapshot().Requests);
    }

    [Fact]
    public async Task GenerateChoicesAsync_DifferentPrompts_Throws()
    {
        await using var engine = Create(new ScriptedRunner(maxBatch: 4, maxSequence: 64));
        GenerationRequest[] choices = [new() { PromptTokens = Prompt(1, 5) }, new() { PromptTokens = Prompt(2, 5) }];

        Assert.Throws<ArgumentException>(() => engine.GenerateChoicesAsync(choices));
    }

    [Fact]
    public async Task GenerateChoicesAsync_RowsBusy_GroupWaitsThenJoinsWhole()
    {
        var runner = new ScriptedRunner(maxBatch: 3, maxSequence: 64) { Gate = new SemaphoreSlim(0) };
        await using var engine = Create(runner);
        var single = Prompt(3, 5);
        var prompt = Prompt(4, 6);
        var singleTask = UpdateStreams.TokenIdsAsync(engine.GenerateAsync(new GenerationRequest { PromptTokens = single, MaxNewTokens = 4 }));
        runner.Gate.Release(); // the single request's prefill: it holds one of the three rows
        await WaitUntil(() => engine.Metrics.Snapshot().GeneratedTokens == 1);

        var groupTask = CollectChoices(engine.GenerateChoicesAsync(Choices(prompt, 3, 3)), 3);
        runner.Gate.Release(1000);

        Assert.Equal(Alone(single, 4), await singleTask);
        Assert.All(await groupTask, o => Assert.Equal(Alone(prompt, 3), o));
        // Two free rows were not enough: the group joined only after the single request left, then decoded as three.
        Assert.Equal([1, 1, 1, 3, 3], runner.DecodeBatchSizes);
    }

    [Fact]
    public async Task StartChoices_OneChoiceCancelled_OthersRunToTheEnd()
    {
        var runner = new ScriptedRunner(maxBatch: 3, maxSequence: 256) { Gate = new SemaphoreSlim(0) };
        await using var engine = Create(runner);
        var prompt = Prompt(5, 8);
        using var cancelOne = new CancellationTokenSource();
        var streams = engine.StartChoices(Choices(prompt, 3, 30));

        runner.Gate.Release(3); // prefill and two decodes
        var seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in streams[0].WithCancellation(cancelOne.Token))
            {
                if (++seen == 3)
                {
                    cancelOne.Cancel();
                }
            }
        });
        runner.Gate.Release(1000);
        var rest = await Task.WhenAll(UpdateStreams.TokenIdsAsync(streams[1]), UpdateStreams.TokenIdsAsync(streams[2])).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(rest, o => Assert.Equal(Alone(prompt, 30), o));
        Assert.Equal(1, engine.Metrics.Snapshot().CancelledRequests);
        // The cancelled choice left after at most one more decode; the others finished as a batch of two.
        Assert.True(runner.DecodeBatchSizes.Count(b => b == 3) <= 3, string.Join(",", runner.DecodeBatchSizes));
        Assert.Equal(2, runner.DecodeBatchSizes[^1]);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for the engine.");
            await Task.Delay(5);
        }
    }
}
