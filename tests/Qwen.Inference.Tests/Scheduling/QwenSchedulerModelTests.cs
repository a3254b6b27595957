using Qwen.Inference.Generation;
using Qwen.Inference.Runtime;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;
using Qwen.Inference.Tokenization;
using Qwen.Testing;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>The scheduler on a real ONNX Runtime session (tiny seeded package): batched outputs equal each request run alone.</summary>
/// <remarks>"Alone" is the same engine with one row and no prefix reuse: there is no other code path to compare with.</remarks>
public sealed class QwenSchedulerModelTests
{
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    private static async Task<QwenScheduler> CreateScheduler(int batch, bool reuse = true, int queue = 32)
    {
        var package = ModelPackage.Open(await TinyPackage.Fp32Async());
        return new QwenScheduler(package, Tokenizer.Value, new QwenSchedulerOptions
        {
            Runtime = new ModelRuntimeOptions { IntraOpThreads = 1 },
            Scheduling = new SchedulerOptions { MaxBatchSize = batch, MaxQueueLength = queue, EnablePrefixReuse = reuse },
        });
    }

    /// <summary>One row, no reuse: every request runs by itself from an empty row.</summary>
    private static Task<QwenScheduler> CreateSolo() => CreateScheduler(batch: 1, reuse: false);

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

    /// <summary>16 greedy requests: prompt lengths 2…62 (α 1, 3 and 7 with seq_length 16), each with its own penalties, bias, stops and budget.</summary>
    private static GenerationRequest[] SixteenRequests()
    {
        var random = new Random(11);
        return [.. Enumerable.Range(0, 16).Select(i =>
        {
            var length = 2 + i * 4 - (i == 15 ? 2 : 0);
            var prompt = Enumerable.Range(0, length).Select(_ => random.Next(0, 320)).ToArray();
            var sampling = (i % 4) switch
            {
                0 => SamplingOptions.Greedy,
                1 => SamplingOptions.Greedy with { RepetitionPenalty = 1.3 },
                2 => SamplingOptions.Greedy with { PresencePenalty = 0.7, FrequencyPenalty = 0.4 },
                _ => SamplingOptions.Greedy with { LogitBias = new Dictionary<int, float> { [i] = 5, [i + 100] = -3 } },
            };
            return new GenerationRequest
            {
                PromptTokens = prompt,
                MaxNewTokens = Math.Min(3 + i % 5 * 3, 64 - length),
                Sampling = sampling,
                StopTokenIds = i % 3 == 0 ? [7] : [],
            };
        })];
    }

    [Fact]
    public async Task GenerateAsync_SixteenConcurrentGreedyRequests_EachEqualsItsSingleRequestRun()
    {
        var requests = SixteenRequests();
        var alone = new (int[] Tokens, GenerationUpdate Last)[requests.Length];
        await using (var solo = await CreateSolo())
        {
            for (var i = 0; i < requests.Length; i++)
            {
                alone[i] = await Collect(solo.GenerateAsync(requests[i]));
            }
        }
        await using var scheduler = await CreateScheduler(batch: 16);

        var batched = await Task.WhenAll(requests.Select(r => Collect(scheduler.GenerateAsync(r))));

        for (var i = 0; i < requests.Length; i++)
        {
            Assert.True(alone[i].Tokens.SequenceEqual(batched[i].Tokens),
                $"request {i} (prompt {requests[i].PromptTokens.Count} tokens): alone [{string.Join(",", alone[i].Tokens)}], batched [{string.Join(",", batched[i].Tokens)}]");
            Assert.Equal(alone[i].Last.FinishReason, batched[i].Last.FinishReason);
            Assert.Equal(alone[i].Last.Usage!.CompletionTokens, batched[i].Last.Usage!.CompletionTokens);
        }
        // The runs really overlapped: far fewer decode calls than tokens.
        var metrics = scheduler.Metrics.Snapshot();
        Assert.Equal(16, metrics.Requests);
        Assert.True(metrics.DecodeTokens > 2 * 16, $"only {metrics.DecodeTokens} decode tokens");
    }

    [Fact]
    public async Task GenerateAsync_SixteenRequestsThroughFourRows_EachEqualsItsSingleRequestRun()
    {
        var requests = SixteenRequests();
        await using var scheduler = await CreateScheduler(batch: 4);
        await using var solo = await CreateSolo();

        var batched = await Task.WhenAll(requests.Select(r => Collect(scheduler.GenerateAsync(r))));

        for (var i = 0; i < requests.Length; i++)
        {
            Assert.Equal((await Collect(solo.GenerateAsync(requests[i]))).Tokens, batched[i].Tokens);
        }
    }

    [Fact]
    public async Task GenerateAsync_FollowUpTurn_PrefillsOnlyNewTokensAndEqualsFullPrefill()
    {
        await using var scheduler = await CreateScheduler(batch: 2);
        var random = new Random(5);
        int[] turn1 = [.. Enumerable.Range(0, 6).Select(_ => random.Next(0, 320))];
        var first = await Collect(scheduler.GenerateAsync(new GenerationRequest { PromptTokens = turn1, MaxNewTokens = 4 }));
        int[] turn2 = [.. turn1, .. first.Tokens, 11, 12, 13];
        var before = scheduler.Metrics.Snapshot();

        var second = await Collect(scheduler.GenerateAsync(new GenerationRequest { PromptTokens = turn2, MaxNewTokens = 5 }));

        var cached = turn1.Length + first.Tokens.Length - 1;
        var after = scheduler.Metrics.Snapshot();
        Assert.Equal(cached, second.Last.Usage!.CachedPromptTokens);
        Assert.Equal(cached, after.CachedPromptTokens - before.CachedPromptTokens);
        Assert.Equal(turn2.Length - cached, after.PrefillTokens - before.PrefillTokens);
        await using var solo = await CreateSolo();
        Assert.Equal((await Collect(solo.GenerateAsync(new GenerationRequest { PromptTokens = turn2, MaxNewTokens = 5 }))).Tokens, second.Tokens);
    }

    [Fact]
    public async Task GenerateAsync_FullQueue_RefusesAndRunningRequestsStillMatch()
    {
        var requests = SixteenRequests();
        await using var scheduler = await CreateScheduler(batch: 2, queue: 2);
        await using var solo = await CreateSolo();

        // Which requests get refused depends on how fast the loop drains the queue, so keep each admitted request
        // next to its result rather than assuming the admitted ones are the first few.
        var running = new List<(GenerationRequest Request, Task<(int[] Tokens, GenerationUpdate Last)> Result)>();
        var refused = 0;
        foreach (var request in requests.Take(8))
        {
            try
            {
                running.Add((request, Collect(scheduler.GenerateAsync(request))));
            }
            catch (EngineBusyException)
            {
                refused++;
            }
        }
        await Task.WhenAll(running.Select(r => r.Result));

        Assert.InRange(refused, 4, 6);
        Assert.Equal(refused, scheduler.Metrics.Snapshot().RejectedRequests);
        foreach (var (request, result) in running)
        {
            Assert.Equal((await Collect(solo.GenerateAsync(request))).Tokens, (await result).Tokens);
        }
    }
}
