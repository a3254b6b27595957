using System.Diagnostics;
using Qwen.Inference.Constraints;
using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;

namespace Qwen.Benchmarks;

/// <summary>Benchmarks of the batching engine on one package, on the given execution provider (with ONNX Runtime's profiler when <paramref name="profilePrefix"/> is set).</summary>
public sealed class EngineBenchmarks(string package, int? threads, ExecutionProvider provider = ExecutionProvider.Cpu, string? profilePrefix = null)
{
    private readonly ModelManifest _manifest = ModelPackage.Open(package, PackageVerification.SizesOnly).Manifest;

    /// <summary>Bytes of weights one decoded token reads: every matrix of every layer, the norms, lm_head, and one embedding row.</summary>
    /// <remarks>int4 matrices (MatMulNBits) read K·N/2 bytes of packed weights plus one float32 scale (and half a byte of zero point when asymmetric) per block.</remarks>
    public double WeightBytesPerDecodedToken()
    {
        var a = _manifest.Architecture;
        double h = a.HiddenSize, i = a.IntermediateSize, v = a.VocabSize;
        var quant = _manifest.Quantization;
        var dense = _manifest.Dtype switch { "fp16" => 2.0, "int4" => 0.0, _ => 4.0 };
        double Matrix(double k, double n, int bits)
        {
            if (bits >= 16 || quant is null)
            {
                return k * n * (dense == 0 ? 4 : dense);
            }
            var blocks = Math.Ceiling(k / quant.BlockSize) * n;
            return k * n * bits / 8 + blocks * 4 + (quant.Symmetric ? 0 : blocks * bits / 8);
        }
        var bits = quant?.Bits ?? 16;
        var activation = dense == 0 ? 4.0 : dense;
        var perLayer = Matrix(h, 3 * h, bits) + 3 * h * activation // QKV + bias
            + Matrix(h, h, bits)                                     // attention output
            + 2 * Matrix(h, i, bits) + Matrix(i, h, bits)            // w1, w2, c_proj
            + 2 * h * activation;                                   // two RMSNorm weights
        var lmHead = Matrix(h, v, quant?.LmHeadBits ?? 16);
        return a.NumLayers * perLayer + lmHead + h * activation + h * activation; // + final norm + one embedding row
    }

    /// <summary>One request at a time: prefill of <paramref name="promptTokens"/>, TTFT, then decode of <paramref name="decodeTokens"/> (under <paramref name="constraint"/> when given).</summary>
    public async Task<SingleStreamResult> SingleAsync(int promptTokens, int decodeTokens, int repeats, CancellationToken cancellationToken, TokenConstraint? constraint = null)
    {
        await using var engine = Create(1, promptTokens + decodeTokens + 1, prefixReuse: false);
        var best = new SingleStreamResult { PromptTokens = promptTokens, DecodeTokens = decodeTokens };
        for (var r = 0; r <= repeats; r++)
        {
            var prompt = Prompts.Random(promptTokens, seed: 100 + r);
            var before = engine.Metrics.Snapshot();
            var started = Stopwatch.GetTimestamp();
            long first = 0;
            var count = 0;
            await foreach (var update in engine.GenerateAsync(Request(prompt, decodeTokens) with { Constraint = constraint }, cancellationToken))
            {
                count += update.Tokens.Count;
                if (first == 0 && count > 0)
                {
                    first = Stopwatch.GetTimestamp();
                }
            }
            var end = Stopwatch.GetTimestamp();
            var after = engine.Metrics.Snapshot();
            if (r == 0)
            {
                continue; // warm-up
            }
            var ttft = Stopwatch.GetElapsedTime(started, first).TotalMilliseconds;
            var prefill = (after.PrefillTokens - before.PrefillTokens) / (after.PrefillTime - before.PrefillTime).TotalSeconds;
            var decode = (count - 1) / Stopwatch.GetElapsedTime(first, end).TotalSeconds;
            best = best with
            {
                PrefillTokensPerSecond = Math.Max(best.PrefillTokensPerSecond, prefill),
                DecodeTokensPerSecond = Math.Max(best.DecodeTokensPerSecond, decode),
                TimeToFirstTokenMs = best.TimeToFirstTokenMs == 0 ? ttft : Math.Min(best.TimeToFirstTokenMs, ttft),
            };
        }
        return best;
    }

    /// <summary><paramref name="requests"/> requests with distinct prompts started together; aggregate tokens per second.</summary>
    public async Task<ConcurrencyResult> ConcurrentAsync(int requests, int promptTokens, int decodeTokens, CancellationToken cancellationToken)
    {
        await using var engine = Create(requests, promptTokens + decodeTokens + 1, prefixReuse: false);
        // Warm-up with the same batch shape so the timed run has no first-call costs.
        await RunAll(engine, requests, promptTokens, 4, seed: 9000, cancellationToken);
        var before = engine.Metrics.Snapshot();
        var started = Stopwatch.GetTimestamp();
        var tokens = await RunAll(engine, requests, promptTokens, decodeTokens, seed: 1000, cancellationToken);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var after = engine.Metrics.Snapshot();
        return new ConcurrencyResult
        {
            Requests = requests,
            PromptTokens = promptTokens,
            DecodeTokens = decodeTokens,
            WallSeconds = wall,
            AggregateTokensPerSecond = tokens / wall,
            DecodeTokensPerSecond = (after.DecodeTokens - before.DecodeTokens) / (after.DecodeTime - before.DecodeTime).TotalSeconds,
            MeanTimeToFirstTokenMs = (after.TimeToFirstTokenSum - before.TimeToFirstTokenSum).TotalMilliseconds / (after.TimeToFirstTokenCount - before.TimeToFirstTokenCount),
        };
    }

    private static async Task<int> RunAll(QwenScheduler engine, int requests, int promptTokens, int decodeTokens, int seed, CancellationToken cancellationToken)
    {
        var tasks = Enumerable.Range(0, requests).Select(async n =>
        {
            var count = 0;
            await foreach (var update in engine.GenerateAsync(Request(Prompts.Random(promptTokens, seed + n), decodeTokens), cancellationToken))
            {
                count += update.Tokens.Count;
            }
            return count;
        });
        return (await Task.WhenAll(tasks)).Sum();
    }

    /// <summary>Profiles one request (<paramref name="promptTokens"/> + <paramref name="decodeTokens"/>) and <paramref name="requests"/> concurrent ones; returns the per-operator summary.</summary>
    public static async Task<string> ProfileAsync(string package, int? threads, ExecutionProvider provider, string outputDirectory,
        int promptTokens, int decodeTokens, int requests, int concurrentPromptTokens, CancellationToken cancellationToken)
    {
        var summary = new System.Text.StringBuilder();
        foreach (var (name, batch, prompt) in new[] { ("single", 1, promptTokens), ($"concurrent-{requests}", requests, concurrentPromptTokens) })
        {
            var prefix = Path.Combine(Path.GetFullPath(outputDirectory), $"ort-profile-{name}");
            var started = DateTime.UtcNow;
            var bench = new EngineBenchmarks(package, threads, provider, prefix);
            await using (var engine = bench.Create(batch, prompt + decodeTokens + 1, prefixReuse: false))
            {
                await RunAll(engine, batch, prompt, decodeTokens, seed: 500, cancellationToken);
            }
            var trace = new DirectoryInfo(Path.GetDirectoryName(prefix)!).GetFiles(Path.GetFileName(prefix) + "*.json")
                .Where(f => f.LastWriteTimeUtc >= started).OrderByDescending(f => f.LastWriteTimeUtc).First();
            summary.Append(ProfileSummary.Summarize(trace.FullName, $"{name}: {batch} request(s), {prompt}-token prompts, {decodeTokens} new tokens ({trace.Name})"));
        }
        return summary.ToString();
    }

    private QwenScheduler Create(int batch, int sequence, bool prefixReuse) => QwenScheduler.Load(package, new QwenSchedulerOptions
    {
        Runtime = new ModelRuntimeOptions { IntraOpThreads = threads, Verification = PackageVerification.SizesOnly, ExecutionProvider = provider, ProfilePathPrefix = profilePrefix },
        Scheduling = new SchedulerOptions { MaxBatchSize = batch, MaxSequenceLength = sequence, MaxQueueLength = batch, EnablePrefixReuse = prefixReuse },
    });

    /// <summary>Greedy, exactly <paramref name="decodeTokens"/> tokens: the stop ids are biased away (random weights would otherwise stop anywhere).</summary>
    private static GenerationRequest Request(int[] prompt, int decodeTokens) => new()
    {
        PromptTokens = prompt,
        MaxNewTokens = decodeTokens,
        Sampling = SamplingOptions.Greedy with { LogitBias = new Dictionary<int, float> { [151643] = -100, [151644] = -100, [151645] = -100 } },
    };
}
