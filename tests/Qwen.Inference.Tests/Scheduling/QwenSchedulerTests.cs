using Qwen.Inference.Generation;
using Qwen.Inference.Scheduling;
using Qwen.Inference.Tests.ChatClient;
using Qwen.Inference.Tokenization;
using Qwen.Testing;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>The scheduler's loop over a scripted runner: joins, leaves, queue limits, cancellation and prefix reuse.</summary>
public sealed class QwenSchedulerTests
{
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    private static QwenScheduler Create(ScriptedRunner runner, int maxQueue = 16, bool reuse = true) =>
        new(FakeGenerationEngine.TestManifest, Tokenizer.Value, runner, new SchedulerOptions { MaxQueueLength = maxQueue, EnablePrefixReuse = reuse });

    private static int[] Prompt(int seed, int length) => Enumerable.Range(0, length).Select(i => 1000 + (seed * 7919 + i * 104729) % 4000).ToArray();

    /// <summary>What the scripted model produces for <paramref name="prompt"/> when nothing else runs.</summary>
    private static int[] Alone(int[] prompt, int count)
    {
        var sequence = prompt.ToList();
        for (var i = 0; i < count; i++)
        {
            sequence.Add(ScriptedRunner.Next(sequence, sequence.Count));
        }
        return [.. sequence.Skip(prompt.Length)];
    }

    private static async Task<(int[] Tokens, GenerationUpdate Last)> Collect(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var tokens = new List<int>();
        GenerationUpdate? last = null;
        await foreach (var update in updates)
        {
            tokens.AddRange(update.Tokens.Select(t => t.Id));
            last = update;
        }
        return ([.. tokens], last!);
    }

    private static GenerationRequest Request(int[] prompt, int maxNew) => new() { PromptTokens = prompt, MaxNewTokens = maxNew };

    [Fact]
    public async Task GenerateAsync_ManyConcurrentRequestsOfDifferentLengths_EachMatchesItsSoloRun()
    {
        var runner = new ScriptedRunner(maxBatch: 4, maxSequence: 64);
        await using var engine = Create(runner);
        var prompts = Enumerable.Range(0, 10).Select(i => Prompt(i, 3 + i * 3)).ToArray();
        var budgets = Enumerable.Range(0, 10).Select(i => 2 + (i * 5) % 13).ToArray();

        var results = await Task.WhenAll(prompts.Select((p, i) => Collect(engine.GenerateAsync(Request(p, budgets[i])))));

        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(Alone(prompts[i], budgets[i]), results[i].Tokens);
            Assert.Equal(FinishReason.Length, results[i].Last.FinishReason);
            Assert.Equal(budgets[i], results[i].Last.Usage!.CompletionTokens);
        }
        var metrics = engine.Metrics.Snapshot();
        Assert.Equal(10, metrics.Requests);
        Assert.Equal(budgets.Sum(), metrics.GeneratedTokens);
        Assert.Equal(prompts.Sum(p => p.Length), metrics.PromptTokens);
    }

    [Fact]
    public async Task GenerateAsync_QueueFull_RefusesWithoutDisturbingRunning()
    {
        var runner = new ScriptedRunner(maxBatch: 1, maxSequence: 64) { Gate = new SemaphoreSlim(0) };
        await using var engine = Create(runner, maxQueue: 1);
        var a = Prompt(1, 5);
        var b = Prompt(2, 4);
        var runningTask = Collect(engine.GenerateAsync(Request(a, 6)));
        runner.Gate.Release(); // a's prefill
        await WaitUntil(() => engine.Metrics.Snapshot().GeneratedTokens == 1);
        var waitingTask = Collect(engine.GenerateAsync(Request(b, 3)));

        var busy = Assert.Throws<EngineBusyException>(() => engine.GenerateAsync(Request(Prompt(3, 4), 3)));

        Assert.Equal(TimeSpan.FromSeconds(1), busy.RetryAfter);
        Assert.Equal(1, engine.Metrics.Snapshot().RejectedRequests);
        runner.Gate.Release(100);
        Assert.Equal(Alone(a, 6), (await runningTask).Tokens);
        Assert.Equal(Alone(b, 3), (await waitingTask).Tokens);
    }

    [Fact]
    public async Task GenerateAsync_Cancelled_FreesItsRowAtTheNextStep()
    {
        var runner = new ScriptedRunner(maxBatch: 1, maxSequence: 256) { Gate = new SemaphoreSlim(0) };
        await using var engine = Create(runner);
        using var cts = new CancellationTokenSource();
        var seen = 0;
        runner.Gate.Release(3); // prefill and two decodes: three tokens
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in engine.GenerateAsync(Request(Prompt(1, 4), 200), cts.Token))
            {
                if (++seen == 3)
                {
                    cts.Cancel();
                }
            }
        });
        var b = Prompt(2, 6);
        var next = Collect(engine.GenerateAsync(Request(b, 5)));

        runner.Gate.Release(100);
        var result = await next.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(Alone(b, 5), result.Tokens);
        var metrics = engine.Metrics.Snapshot();
        Assert.Equal(1, metrics.CancelledRequests);
        // The decode already waiting when the caller cancelled is the cancelled request's last call (its token is dropped);
        // the step after it releases the row and prefills the next request: 4 calls for the first, 5 for the second.
        Assert.Equal(3 + 5, metrics.GeneratedTokens);
        Assert.Equal(4 + 5, runner.Calls);
    }

    [Fact]
    public async Task GenerateAsync_FollowUpTurn_PrefillsOnlyNewTokensAndMatchesFullPrefill()
    {
        var runner = new ScriptedRunner(maxBatch: 2, maxSequence: 128);
        await using var engine = Create(runner);
        // Short enough that both turns keep α = 1 (the test manifest's seq_length is 32).
        var turn1 = Prompt(1, 10);
        var (reply, _) = await Collect(engine.GenerateAsync(Request(turn1, 6)));
        // The next turn: history (prompt + reply) plus new user tokens.
        int[] turn2 = [.. turn1, .. reply, 151645, 198, .. Prompt(9, 7)];
        var prefilledBefore = runner.PrefilledTokens;

        var (tokens, last) = await Collect(engine.GenerateAsync(Request(turn2, 5)));

        // The reply's last token was sampled but never fed, so it is prefilled again with the new ones.
        var cached = turn1.Length + reply.Length - 1;
        Assert.Equal(cached, last.Usage!.CachedPromptTokens);
        Assert.Equal(turn2.Length - cached, runner.PrefilledTokens - prefilledBefore);
        Assert.Equal(cached, engine.Metrics.Snapshot().CachedPromptTokens);
        Assert.Equal(Alone(turn2, 5), tokens);

        await using var fresh = Create(new ScriptedRunner(maxBatch: 2, maxSequence: 128), reuse: false);
        Assert.Equal(tokens, (await Collect(fresh.GenerateAsync(Request(turn2, 5)))).Tokens);
    }

    [Fact]
    public async Task GenerateAsync_PromptFillsContext_ThrowsBeforeCompute()
    {
        var runner = new ScriptedRunner(maxBatch: 1, maxSequence: 16);
        await using var engine = Create(runner);

        var error = Assert.Throws<ContextLengthExceededException>(() => engine.GenerateAsync(Request(Prompt(1, 16), 4)));

        Assert.Equal(16, error.PromptTokens);
        Assert.Equal(0, runner.Calls);
    }

    [Fact]
    public async Task GenerateAsync_BudgetBeyondContext_StopsAtContextWithLength()
    {
        var runner = new ScriptedRunner(maxBatch: 1, maxSequence: 16);
        await using var engine = Create(runner);

        var (tokens, last) = await Collect(engine.GenerateAsync(Request(Prompt(1, 10), 100)));

        Assert.Equal(6, tokens.Length);
        Assert.Equal(FinishReason.Length, last.FinishReason);
    }

    [Fact]
    public async Task GenerateAsync_StopString_EndsThatRequestOnly()
    {
        var runner = new ScriptedRunner(maxBatch: 2, maxSequence: 64);
        await using var engine = Create(runner);
        var a = Prompt(1, 5);
        var expected = Alone(a, 8);
        var stopText = Tokenizer.Value.Decode([expected[2]]);
        var withStop = Request(a, 8) with { StopStrings = [stopText] };

        var results = await Task.WhenAll(Collect(engine.GenerateAsync(withStop)), Collect(engine.GenerateAsync(Request(a, 8))));

        Assert.Equal(FinishReason.Stop, results[0].Last.FinishReason);
        Assert.Equal(expected[..3], results[0].Tokens);
        Assert.Equal(expected, results[1].Tokens);
        Assert.Equal(FinishReason.Length, results[1].Last.FinishReason);
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
