using Qwen.Inference.Scheduling;

namespace Qwen.Inference.Tests.Scheduling;

public sealed class BatchSchedulerTests
{
    private static ScheduledSequence Seq(long id, int[] prompt, double alpha = 1, int maxNew = 10) => new(id, prompt, alpha, maxNew);

    [Fact]
    public void TryEnqueue_QueueFull_RefusesWithoutTouchingRunning()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 1, MaxQueueLength = 1 }, 64);
        var running = Seq(1, [1, 2, 3]);
        Assert.True(scheduler.TryEnqueue(running));
        var plan = scheduler.Schedule();
        Assert.Equal([new PrefillWork(0, 1, 0, 3)], plan.Prefills);
        scheduler.CompletePrefill(running);

        Assert.True(scheduler.TryEnqueue(Seq(2, [4])));
        Assert.False(scheduler.TryEnqueue(Seq(3, [5])));
        Assert.Equal(1, scheduler.QueueDepth);

        plan = scheduler.Schedule();
        Assert.Empty(plan.Prefills);
        Assert.Equal(new DecodeRow(0, 1, 3), Assert.Single(plan.Decode!.Active));
    }

    [Fact]
    public void Schedule_JoinerAndRunning_PrefillsJoinerAndDecodesRunning()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 3 }, 64);
        var a = Seq(1, [1, 2]);
        scheduler.TryEnqueue(a);
        scheduler.Schedule();
        scheduler.CompletePrefill(a);
        a.Append(9);

        var b = Seq(2, [5, 6, 7]);
        scheduler.TryEnqueue(b);
        var plan = scheduler.Schedule();
        Assert.Equal([new PrefillWork(1, 2, 0, 3)], plan.Prefills);
        // Only rows up to the last decoding one are bound; the joining row 1 is not part of this decode.
        Assert.Equal(1, plan.Decode!.Rows);
        Assert.Equal([new DecodeRow(0, 1, 2)], plan.Decode.Active);
        Assert.Empty(plan.Decode.Fillers);
    }

    [Fact]
    public void Release_Running_FreesRowForWaitingRequestAtNextStep()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 1 }, 64);
        var a = Seq(1, [1, 2]);
        var b = Seq(2, [3, 4, 5]);
        scheduler.TryEnqueue(a);
        scheduler.Schedule();
        scheduler.CompletePrefill(a);
        scheduler.TryEnqueue(b);
        Assert.Empty(scheduler.Schedule().Prefills);

        Assert.True(scheduler.Release(a));
        Assert.False(scheduler.Release(a));
        var plan = scheduler.Schedule();
        Assert.Equal([1L], plan.Released);
        Assert.Equal([new PrefillWork(0, 2, 0, 3)], plan.Prefills);
        Assert.Null(plan.Decode);
    }

    [Fact]
    public void Schedule_PromptExtendsCachedRow_ReusesPrefix()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 2 }, 64);
        var turn1 = Seq(1, [10, 11, 12]);
        scheduler.TryEnqueue(turn1);
        scheduler.Schedule();
        scheduler.CompletePrefill(turn1);
        turn1.Append(20);
        scheduler.Schedule();
        scheduler.CompleteDecode(turn1);
        turn1.Append(21); // sampled, never fed
        scheduler.Release(turn1);
        Assert.Equal([10, 11, 12, 20], scheduler.CachedTokens(0));

        var other = Seq(2, [99, 98]);
        scheduler.TryEnqueue(other);
        var turn2 = Seq(3, [10, 11, 12, 20, 21, 30]);
        scheduler.TryEnqueue(turn2);
        var plan = scheduler.Schedule();
        // The unrelated prompt takes the empty row, keeping row 0's cache for the follow-up turn.
        Assert.Equal([new PrefillWork(1, 2, 0, 2), new PrefillWork(0, 3, 4, 2)], plan.Prefills);
        Assert.Equal(4, turn2.CachedPromptTokens);
    }

    [Theory]
    [InlineData(new[] { 10, 11, 12 }, 1.0, 2)] // prompt equals the cache: one token still runs for its logits
    [InlineData(new[] { 10, 11, 12, 13 }, 3.0, 0)] // different α: cached keys were rotated differently
    [InlineData(new[] { 10, 99, 12, 13 }, 1.0, 1)]
    public void Schedule_CachedRow_ReusesOnlyValidPrefix(int[] prompt, double alpha, int expectedReuse)
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 1 }, 64);
        var first = Seq(1, [10, 11, 12]);
        scheduler.TryEnqueue(first);
        scheduler.Schedule();
        scheduler.CompletePrefill(first);
        scheduler.Release(first);

        var next = Seq(2, prompt, alpha);
        scheduler.TryEnqueue(next);
        var work = Assert.Single(scheduler.Schedule().Prefills);
        Assert.Equal(new PrefillWork(0, 2, expectedReuse, prompt.Length - expectedReuse), work);
    }

    [Theory]
    [InlineData("tenant-a", "tenant-a", 3)]
    [InlineData("tenant-a", "tenant-b", 0)] // another tenant's cached prompt is never reused (nor reported)
    [InlineData(null, "tenant-b", 0)]
    [InlineData("tenant-a", null, 0)]
    [InlineData(null, null, 3)]
    public void Schedule_CachedRow_ReusedOnlyWithinTheSameCacheScope(string? cachedScope, string? nextScope, int expectedReuse)
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 1 }, 64);
        var first = new ScheduledSequence(1, [10, 11, 12], 1.0, 8) { CacheScope = cachedScope };
        scheduler.TryEnqueue(first);
        scheduler.Schedule();
        scheduler.CompletePrefill(first);
        scheduler.Release(first);

        var next = new ScheduledSequence(2, [10, 11, 12, 13], 1.0, 8) { CacheScope = nextScope };
        scheduler.TryEnqueue(next);
        var work = Assert.Single(scheduler.Schedule().Prefills);

        Assert.Equal(new PrefillWork(0, 2, expectedReuse, 4 - expectedReuse), work);
        Assert.Equal(expectedReuse, next.CachedPromptTokens);
    }

    [Fact]
    public void Schedule_PrefillBudget_FirstJoinerAlwaysRunsLaterOnesWait()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 3, MaxPrefillTokensPerStep = 4 }, 64);
        scheduler.TryEnqueue(Seq(1, [1, 2, 3, 4, 5, 6]));
        scheduler.TryEnqueue(Seq(2, [1]));
        var plan = scheduler.Schedule();
        Assert.Equal([new PrefillWork(0, 1, 0, 6)], plan.Prefills);
        Assert.Equal(1, scheduler.QueueDepth);
        Assert.Equal([new PrefillWork(1, 2, 0, 1)], scheduler.Schedule().Prefills);
    }

    [Fact]
    public void Schedule_IdleFullRowInsideBatch_GivesUpLastCachedTokenForFiller()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 2 }, 4);
        var a = Seq(1, [1, 2, 3]);
        scheduler.TryEnqueue(a);
        scheduler.Schedule();
        scheduler.CompletePrefill(a);
        a.Append(4);
        scheduler.Schedule();
        scheduler.CompleteDecode(a);
        a.Append(5);
        scheduler.Release(a);
        Assert.Equal([1, 2, 3, 4], scheduler.CachedTokens(0));

        var b = Seq(2, [7]);
        scheduler.TryEnqueue(b);
        Assert.Equal([new PrefillWork(1, 2, 0, 1)], scheduler.Schedule().Prefills);
        scheduler.CompletePrefill(b);
        var decode = scheduler.Schedule().Decode!;
        Assert.Equal(2, decode.Rows);
        Assert.Equal([new FillerRow(0, 3)], decode.Fillers);
        Assert.Equal([1, 2, 3], scheduler.CachedTokens(0));
    }

    [Fact]
    public void Release_Waiting_RemovesFromQueue()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 1 }, 64);
        var a = Seq(1, [1]);
        scheduler.TryEnqueue(a);
        scheduler.Release(a);
        Assert.True(scheduler.IsIdle);
        Assert.True(scheduler.Schedule().IsEmpty);
    }

    [Fact]
    public void TryEnqueue_PromptFillsRow_Throws()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions(), 4);
        Assert.Throws<ArgumentException>(() => scheduler.TryEnqueue(Seq(1, [1, 2, 3, 4])));
    }

    [Fact]
    public void TryEnqueueGroup_FourChoices_OnePrefillWhoseRowForksIntoThree()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 4 }, 64);
        int[] prompt = [1, 2, 3, 4, 5];
        var group = Enumerable.Range(1, 4).Select(id => Seq(id, prompt)).ToArray();

        Assert.True(scheduler.TryEnqueueGroup(group));
        Assert.Equal(4, scheduler.QueueDepth);
        var plan = scheduler.Schedule();

        var work = Assert.Single(plan.Prefills);
        Assert.Equal(new PrefillWork(0, 1, 0, 5) { Forks = [new ForkRow(1, 2), new ForkRow(2, 3), new ForkRow(3, 4)] }, work);
        Assert.Equal(0, scheduler.QueueDepth);
        foreach (var sequence in group)
        {
            scheduler.CompletePrefill(sequence);
            sequence.Append(7);
        }
        Assert.Equal(prompt, scheduler.CachedTokens(3));
        Assert.Equal(4, scheduler.Schedule().Decode!.Active.Count);
    }

    [Fact]
    public void Schedule_GroupLargerThanFreeRows_WaitsThenJoinsWhole()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 3 }, 64);
        var running = Seq(1, [9, 9]);
        scheduler.TryEnqueue(running);
        scheduler.Schedule();
        scheduler.CompletePrefill(running);
        running.Append(3);
        var group = new[] { Seq(2, [1, 2, 3]), Seq(3, [1, 2, 3]), Seq(4, [1, 2, 3]) };
        scheduler.TryEnqueueGroup(group);
        // A single request queued behind the group waits too: the group is not starved by later arrivals.
        scheduler.TryEnqueue(Seq(5, [4]));

        Assert.Empty(scheduler.Schedule().Prefills);
        scheduler.Release(running);
        var work = Assert.Single(scheduler.Schedule().Prefills);

        Assert.Equal(2, work.SequenceId);
        Assert.Equal([3L, 4L], work.Forks.Select(f => f.SequenceId));
        Assert.Equal(1, scheduler.QueueDepth);
    }

    [Fact]
    public void Release_WaitingGroupHead_NextChoicePrefillsForTheRest()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 3 }, 64);
        var running = Seq(1, [9, 9]);
        scheduler.TryEnqueue(running);
        scheduler.Schedule();
        scheduler.CompletePrefill(running);
        var group = new[] { Seq(2, [1, 2]), Seq(3, [1, 2]), Seq(4, [1, 2]) };
        scheduler.TryEnqueueGroup(group);

        Assert.True(scheduler.Release(group[0]));
        Assert.True(scheduler.Release(group[2]));
        Assert.Equal(1, scheduler.QueueDepth);
        var work = Assert.Single(scheduler.Schedule().Prefills);

        Assert.Equal(3, work.SequenceId);
        Assert.Empty(work.Forks);
    }

    [Fact]
    public void Schedule_GroupWithoutRowCopies_PrefillsEveryChoice()
    {
        var scheduler = new BatchScheduler(new SchedulerOptions { MaxBatchSize = 2 }, 64, copyRows: false);
        scheduler.TryEnqueueGroup([Seq(1, [1, 2, 3]), Seq(2, [1, 2, 3])]);

        var plan = scheduler.Schedule();

        Assert.Equal([new PrefillWork(0, 1, 0, 3), new PrefillWork(1, 2, 0, 3)], plan.Prefills);
    }
}
