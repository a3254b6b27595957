using System.Diagnostics;
using Qwen.Inference.Generation;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;
using Qwen.Inference.Tests.Tokenization;
using Qwen.Testing;
using Qwen.Testing.Reference;
using Xunit.Abstractions;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>The serving engine on the tiny fp32 packages: greedy output vs the float64 reference, stops, limits, cancellation, seeds, logprobs, reuse.</summary>
[Collection(TinyEngineCollection.Name)]
public sealed class QwenSchedulerGenerationTests(TinyEngineFixture fixture, ITestOutputHelper output)
{
    private const string Text =
        "The quick brown fox jumps over the lazy dog. 你好，世界！我是通义千问。 def add(a, b):\n    return a + b\n" +
        "Qwen-7B uses rotary embeddings with dynamic NTK interpolation and LogN attention scaling for long inputs. ";

    /// <summary>A real-text prompt of exactly <paramref name="length"/> tokens.</summary>
    internal static int[] Prompt(int length)
    {
        var ids = new List<int>();
        while (ids.Count < length)
        {
            ids.AddRange(SharedTokenizer.Instance.Encode(Text));
        }
        return [.. ids.Take(length)];
    }

    private static async Task<List<GenerationUpdate>> RunAsync(IGenerationEngine engine, GenerationRequest request, CancellationToken cancellationToken = default)
    {
        var updates = new List<GenerationUpdate>();
        await foreach (var update in engine.GenerateAsync(request, cancellationToken))
        {
            updates.Add(update);
        }
        return updates;
    }

    /// <summary>Greedy tokens of the float64 reference, with the same vocabulary mask as the engine (padding rows never win).</summary>
    private static int[] ReferenceGreedy(ReferenceModel reference, IReadOnlyList<int> prompt, int count)
    {
        var sequence = reference.StartSequence();
        var result = new int[count];
        var logits = sequence.ForwardLast(prompt);
        for (var n = 0; n < count; n++)
        {
            result[n] = ReferenceModel.ArgMax(logits.AsSpan(0, Qwen.Inference.Tokenization.QwenTokenizer.VocabCount));
            if (n + 1 < count)
            {
                logits = sequence.ForwardLast([result[n]]);
            }
        }
        return result;
    }

    [Theory]
    [InlineData(TestCheckpoint.TinyV10Sharded, 12)]
    [InlineData(TestCheckpoint.TinyV10Sharded, 90)]
    [InlineData(TestCheckpoint.TinyV11, 12)]
    [InlineData(TestCheckpoint.TinyV11, 90)]
    [InlineData(TestCheckpoint.TinyV11, 150)]
    public async Task GenerateAsync_GreedyTinyFp32_EqualsReferenceGreedyTokens(TestCheckpoint checkpoint, int promptLength)
    {
        var generator = fixture.Engine(checkpoint);
        Assert.Equal(64, generator.Manifest.Architecture.SeqLength);
        var prompt = Prompt(promptLength);
        var request = new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 32, Sampling = SamplingOptions.Greedy, StopTokenIds = [] };

        var result = await generator.CompleteAsync(request);

        var expected = ReferenceGreedy(fixture.Reference(checkpoint), prompt, 32);
        var actual = result.Tokens.Select(t => t.Id).ToArray();
        // A random model almost never samples a stop id; if it did, the engine would (rightly) stop early.
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(expected, actual);
        Assert.Equal(FinishReason.Length, result.FinishReason);
        Assert.Equal(new GenerationUsage(promptLength, 32, 0, result.Usage.TimeToFirstToken), result.Usage);
    }

    [Fact]
    public async Task GenerateAsync_StopStringSplitAcrossTwoTokens_IsCaughtAndNotEmitted()
    {
        var generator = fixture.Engine(TestCheckpoint.TinyV11);
        var tokenizer = generator.Tokenizer;
        var prompt = Prompt(20);
        var free = await generator.CompleteAsync(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 16, Sampling = SamplingOptions.Greedy });
        var ids = free.Tokens.Select(t => t.Id).ToArray();
        var full = tokenizer.Decode(ids);
        Assert.Equal(full, free.Text);

        // Choose a boundary between tokens k and k+1 that each add ≥ 2 whole characters (the decoded prefix is stable there);
        // the stop is the 2 + 2 characters around it.
        var ends = Enumerable.Range(1, ids.Length).Select(n => tokenizer.Decode(ids[..n])).ToArray();
        string? stop = null;
        var boundaryToken = -1;
        for (var k = 1; k + 1 < ids.Length && stop is null; k++)
        {
            string before = ends[k - 1], at = ends[k], after = ends[k + 1];
            if (at.EndsWith('\uFFFD') || after.EndsWith('\uFFFD') || !at.StartsWith(before, StringComparison.Ordinal) || !after.StartsWith(at, StringComparison.Ordinal)
                || at.Length - before.Length < 2 || after.Length - at.Length < 2)
            {
                continue;
            }
            var candidate = full.Substring(at.Length - 2, 4);
            if (!candidate.Contains('\uFFFD') && full.IndexOf(candidate, StringComparison.Ordinal) == at.Length - 2)
            {
                stop = candidate;
                boundaryToken = k;
            }
        }
        Assert.True(stop is not null, $"no usable token boundary in the greedy output {string.Join(",", ids)}");
        var stopAt = ends[boundaryToken].Length - 2;

        var updates = await RunAsync(generator, new GenerationRequest
        {
            PromptTokens = prompt, MaxNewTokens = 16, Sampling = SamplingOptions.Greedy, StopStrings = ["never here", stop!],
        });

        var text = string.Concat(updates.Select(u => u.TextDelta));
        Assert.Equal(full[..stopAt], text);
        Assert.DoesNotContain(stop!, text);
        Assert.Equal(FinishReason.Stop, updates[^1].FinishReason);
        // Tokens 0…k+1 were sampled: token k+1 completed the stop string.
        Assert.Equal(ids[..(boundaryToken + 2)], updates.SelectMany(u => u.Tokens).Select(t => t.Id));
        Assert.Equal(boundaryToken + 2, updates[^1].Usage!.CompletionTokens);
    }

    [Fact]
    public async Task GenerateAsync_PromptLongerThanContext_RefusedBeforeAnyComputeWithBothNumbers()
    {
        var generator = fixture.Engine(TestCheckpoint.TinyV11);
        var prompt = Prompt(300);
        // Thrown by the call itself, before an enumerator (and so any graph run) exists.
        var ex = Assert.Throws<ContextLengthExceededException>(() => generator.GenerateAsync(new GenerationRequest { PromptTokens = prompt }));
        Assert.Equal(300, ex.PromptTokens);
        Assert.Equal(TinyEngineFixture.Context, ex.ContextLength);
        Assert.Contains("300 tokens", ex.Message);
        Assert.Contains("holds 256", ex.Message);

        // Exactly full (no room for one generated token) is refused as well.
        Assert.Throws<ContextLengthExceededException>(() => generator.GenerateAsync(new GenerationRequest { PromptTokens = Prompt(256) }));
    }

    [Fact]
    public async Task GenerateAsync_MaxTokensBeyondContext_IsCappedAndFinishesWithLength()
    {
        var generator = fixture.Engine(TestCheckpoint.TinyV11);
        var prompt = Prompt(250);
        var result = await generator.CompleteAsync(new GenerationRequest
        {
            PromptTokens = prompt, MaxNewTokens = 100, Sampling = SamplingOptions.Greedy with { },
            StopTokenIds = [],
        });
        Assert.Equal(FinishReason.Length, result.FinishReason);
        Assert.Equal(6, result.Usage.CompletionTokens);
        Assert.Equal(256, result.Usage.TotalTokens);
    }

    [Fact]
    public async Task GenerateAsync_CancelledAfterFirstToken_StopsWithinOneStepAndFreesTheRow()
    {
        var generator = fixture.Engine(TestCheckpoint.TinyV11);
        using var cts = new CancellationTokenSource();
        var received = 0;
        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in generator.GenerateAsync(new GenerationRequest { PromptTokens = Prompt(30), MaxNewTokens = 200 }, cts.Token))
            {
                received++;
                if (received == 1)
                {
                    cts.Cancel();
                }
            }
        });
        Assert.Equal(1, received);

        // The row was released: the next request runs.
        var after = await generator.CompleteAsync(new GenerationRequest { PromptTokens = Prompt(10), MaxNewTokens = 2 });
        Assert.Equal(2, after.Usage.CompletionTokens);
        output.WriteLine($"cancel round trip {sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task GenerateAsync_AlreadyCancelled_ThrowsWithoutRunning()
    {
        var generator = fixture.Engine(TestCheckpoint.TinyV10Sharded);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(generator, new GenerationRequest { PromptTokens = Prompt(5) }, cts.Token));
    }

    [Fact]
    public async Task GenerateAsync_SameSeed_SameTokensAndAnotherSeedDiffers()
    {
        var generator = fixture.Engine(TestCheckpoint.TinyV11);
        async Task<int[]> Sample(long seed)
        {
            var result = await generator.CompleteAsync(new GenerationRequest
            {
                PromptTokens = Prompt(16),
                MaxNewTokens = 24,
                Sampling = new SamplingOptions { Temperature = 1.0, TopP = 0.95, TopK = 50, Seed = seed },
            });
            return [.. result.Tokens.Select(t => t.Id)];
        }
        var first = await Sample(42);
        Assert.Equal(first, await Sample(42));
        Assert.NotEqual(first, await Sample(43));
    }

    [Fact]
    public async Task GenerateAsync_Logprobs_ReportsChosenAndTopAlternatives()
    {
        var generator = fixture.Engine(TestCheckpoint.TinyV11);
        var result = await generator.CompleteAsync(new GenerationRequest
        {
            PromptTokens = Prompt(16), MaxNewTokens = 4, Sampling = SamplingOptions.Greedy, Logprobs = true, TopLogprobs = 3,
        });
        Assert.All(result.Tokens, t =>
        {
            Assert.Equal(3, t.TopLogprobs.Count);
            Assert.Equal(t.Id, t.TopLogprobs[0].Id);           // greedy: the chosen token is the best alternative
            Assert.Equal(t.Logprob, t.TopLogprobs[0].Logprob);
            Assert.True(t.Logprob < 0);
            Assert.True(t.TopLogprobs[0].Logprob >= t.TopLogprobs[1].Logprob && t.TopLogprobs[1].Logprob >= t.TopLogprobs[2].Logprob);
        });
    }

    [Fact]
    public async Task GenerateAsync_FollowUpExtendingThePreviousRequest_PrefillsOnlyNewTokensWithTheSameOutput()
    {
        // One row, so the follow-up lands on the row that holds the first turn.
        await using var reusing = QwenScheduler.Load(fixture.Package(TestCheckpoint.TinyV11), TinyEngineFixture.Options(reusePrefix: true, rows: 1));
        var plain = fixture.Engine(TestCheckpoint.TinyV11);
        var first = Prompt(20);
        var turn1 = await reusing.CompleteAsync(new GenerationRequest { PromptTokens = first, MaxNewTokens = 8, Sampling = SamplingOptions.Greedy });
        Assert.Equal(0, turn1.Usage.CachedPromptTokens);

        // The follow-up repeats prompt + answer and adds more: everything except the last answer token is in the cache.
        int[] followUp = [.. first, .. turn1.Tokens.Select(t => t.Id), .. Prompt(10)];
        var request = new GenerationRequest { PromptTokens = followUp, MaxNewTokens = 8, Sampling = SamplingOptions.Greedy, Logprobs = true };
        var turn2 = await reusing.CompleteAsync(request);
        var fresh = await plain.CompleteAsync(request);

        Assert.Equal(20 + 8 - 1, turn2.Usage.CachedPromptTokens);
        Assert.Equal(fresh.Tokens.Select(t => t.Id), turn2.Tokens.Select(t => t.Id));
        for (var i = 0; i < fresh.Tokens.Count; i++)
        {
            Assert.Equal(fresh.Tokens[i].Logprob, turn2.Tokens[i].Logprob, 3);
        }

        // A prompt past S needs another α, so nothing is reused.
        var turn3 = await reusing.CompleteAsync(new GenerationRequest { PromptTokens = [.. followUp, .. Prompt(60)], MaxNewTokens = 2 });
        Assert.Equal(0, turn3.Usage.CachedPromptTokens);
    }

    [Fact]
    public async Task GenerateAsync_ConcurrentCallers_BatchWithUnchangedResults()
    {
        var generator = fixture.Engine(TestCheckpoint.TinyV10Sharded);
        var a = new GenerationRequest { PromptTokens = Prompt(12), MaxNewTokens = 10, Sampling = SamplingOptions.Greedy };
        var b = new GenerationRequest { PromptTokens = Prompt(40), MaxNewTokens = 10, Sampling = SamplingOptions.Greedy };
        var sequentialA = await generator.CompleteAsync(a);
        var sequentialB = await generator.CompleteAsync(b);
        var results = await Task.WhenAll(Task.Run(() => generator.CompleteAsync(a)), Task.Run(() => generator.CompleteAsync(b)));
        Assert.Equal(sequentialA.Tokens.Select(t => t.Id), results[0].Tokens.Select(t => t.Id));
        Assert.Equal(sequentialB.Tokens.Select(t => t.Id), results[1].Tokens.Select(t => t.Id));
    }

    [Fact]
    public async Task GenerateAsync_StopTokenId_EndsWithStopAndIsNotReported()
    {
        var generator = fixture.Engine(TestCheckpoint.TinyV11);
        var free = await generator.CompleteAsync(new GenerationRequest { PromptTokens = Prompt(16), MaxNewTokens = 6, Sampling = SamplingOptions.Greedy });
        var third = free.Tokens[2].Id;
        var stopped = await generator.CompleteAsync(new GenerationRequest
        {
            PromptTokens = Prompt(16), MaxNewTokens = 6, Sampling = SamplingOptions.Greedy, StopTokenIds = [third],
        });
        var firstIndex = free.Tokens.Select(t => t.Id).ToList().IndexOf(third);
        Assert.Equal(FinishReason.Stop, stopped.FinishReason);
        Assert.Equal(free.Tokens.Take(firstIndex).Select(t => t.Id), stopped.Tokens.Select(t => t.Id));
        Assert.Equal(firstIndex + 1, stopped.Usage.CompletionTokens);
        Assert.Equal(generator.Tokenizer.Decode(free.Tokens.Take(firstIndex).Select(t => t.Id)), stopped.Text);
    }

    [Fact]
    public async Task GenerateAsync_DecodeThroughput_IsRecorded()
    {
        var generator = fixture.Engine(TestCheckpoint.TinyV11);
        var request = new GenerationRequest { PromptTokens = Prompt(32), MaxNewTokens = 64, Sampling = SamplingOptions.Greedy, StopTokenIds = [] };
        await generator.CompleteAsync(request with { MaxNewTokens = 4 }); // warm-up
        var sw = Stopwatch.StartNew();
        var result = await generator.CompleteAsync(request);
        sw.Stop();
        var decodeSeconds = (sw.Elapsed - result.Usage.TimeToFirstToken).TotalSeconds;
        var rate = (result.Usage.CompletionTokens - 1) / decodeSeconds;
        output.WriteLine($"tiny fp32, 1 intra-op thread: prompt 32, {result.Usage.CompletionTokens} tokens, TTFT {result.Usage.TimeToFirstToken.TotalMilliseconds:0.0} ms, decode {rate:0.0} tokens/s");
        Assert.Equal(64, result.Usage.CompletionTokens);
    }
}
