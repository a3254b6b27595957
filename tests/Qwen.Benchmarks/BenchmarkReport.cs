using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Qwen.Benchmarks;

/// <summary>All figures of one benchmark run, with the target checks, written as JSON, Markdown and a PNG chart.</summary>
public sealed class BenchmarkReport
{
    public string Package { get; set; } = "";
    public string Machine { get; set; } = "";
    public DateTime StartedUtc { get; set; }
    public DateTime FinishedUtc { get; set; }
    /// <summary>Every bandwidth probe of the run (at the start and at the end).</summary>
    public List<double> ReadBandwidthProbesGBps { get; set; } = [];
    /// <summary>The higher of the probes: the roofline's bandwidth.</summary>
    public double ReadBandwidthGBps => ReadBandwidthProbesGBps.Count == 0 ? 0 : ReadBandwidthProbesGBps.Max();
    public double WeightBytesPerToken { get; set; }
    /// <summary>Batch-1 decode tokens/s if every decoded token read the weights once at <see cref="ReadBandwidthGBps"/>.</summary>
    public double RooflineTokensPerSecond => WeightBytesPerToken == 0 ? 0 : ReadBandwidthGBps * 1e9 / WeightBytesPerToken;
    public SingleStreamResult? Engine { get; set; }
    public SingleStreamResult? GenAi { get; set; }
    /// <summary>The ONNX Runtime GenAI version the peer process ran.</summary>
    public string GenAiVersion { get; set; } = "";
    /// <summary>Load average (1 minute) when the run started: figures are comparable only on an idle machine.</summary>
    public double LoadAverageAtStart { get; set; }
    public List<ConcurrencyResult> Concurrency { get; set; } = [];

    /// <summary>Fraction of the bandwidth roofline the engine's batch-1 decode reaches.</summary>
    public double RooflineFraction => Engine is null || RooflineTokensPerSecond == 0 ? 0 : Engine.DecodeTokensPerSecond / RooflineTokensPerSecond;

    /// <summary>Aggregate tokens/s at 8 requests over that at 1 (end to end).</summary>
    public double? Scaling8 => Aggregate(8) is { } eight && Aggregate(1) is { } one && one > 0 ? eight / one : null;

    private double? Aggregate(int n) => Concurrency.FirstOrDefault(c => c.Requests == n)?.AggregateTokensPerSecond;

    /// <summary>Writes results.json, results.md and throughput.png into <paramref name="directory"/>.</summary>
    public void Write(string directory)
    {
        var json = JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(Path.Combine(directory, "results.json"), json);
        File.WriteAllText(Path.Combine(directory, "results.md"), ToMarkdown());
        ThroughputChart.Save(this, Path.Combine(directory, "throughput.png"));
    }

    /// <summary>The figures and the target checks as a Markdown document.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.Append("# Engine benchmarks\n\n");
        md.Append(c, $"Package `{Path.GetFileName(Package)}`; machine: {Machine}; run {StartedUtc:u} – {FinishedUtc:u}; load average at start {LoadAverageAtStart:F2}.\n\n");
        md.Append(c, $"Measured read bandwidth: **{ReadBandwidthGBps:F1} GB/s** (the higher of the probes {string.Join(" and ", ReadBandwidthProbesGBps.Select(p => p.ToString("F1", c)))} GB/s at the start and end). Weights read per decoded token: **{WeightBytesPerToken / 1e6:F0} MB**, ");
        md.Append(c, $"so the batch-1 decode roofline is **{RooflineTokensPerSecond:F1} tokens/s**.\n\n");
        md.Append("| | prefill tokens/s | decode tokens/s (batch 1) | time to first token (ms) |\n|---|---:|---:|---:|\n");
        if (Engine is { } e)
        {
            md.Append(c, $"| Qwen engine (scheduler) | {e.PrefillTokensPerSecond:F1} | {e.DecodeTokensPerSecond:F2} | {e.TimeToFirstTokenMs:F0} |\n");
        }
        if (GenAi is { } g)
        {
            md.Append(c, $"| ONNX Runtime GenAI {GenAiVersion} | {g.PrefillTokensPerSecond:F1} | {g.DecodeTokensPerSecond:F2} | {g.TimeToFirstTokenMs:F0} |\n");
        }
        md.Append(c, $"\nPrompt {Engine?.PromptTokens} tokens, {Engine?.DecodeTokens} decoded tokens, greedy, best of the repeats after a warm-up.\n\n");
        md.Append("| concurrent requests | aggregate tokens/s (end to end) | tokens/s in decode steps | mean TTFT (ms) | wall (s) |\n|---:|---:|---:|---:|---:|\n");
        foreach (var r in Concurrency)
        {
            md.Append(c, $"| {r.Requests} | {r.AggregateTokensPerSecond:F1} | {r.DecodeTokensPerSecond:F1} | {r.MeanTimeToFirstTokenMs:F0} | {r.WallSeconds:F1} |\n");
        }
        md.Append("\n## Targets\n\n| target | measured | met |\n|---|---|---|\n");
        if (Engine is { } en && GenAi is { } ga)
        {
            var decode = en.DecodeTokensPerSecond / ga.DecodeTokensPerSecond;
            var prefill = en.PrefillTokensPerSecond / ga.PrefillTokensPerSecond;
            var ttft = en.TimeToFirstTokenMs / ga.TimeToFirstTokenMs;
            md.Append(c, $"| batch-1 decode ≥ 1.3× GenAI | {en.DecodeTokensPerSecond:F2} vs {ga.DecodeTokensPerSecond:F2} tokens/s = {decode:F2}× | {Yes(decode >= 1.3)} |\n");
            md.Append(c, $"| prefill ≥ 1.5× GenAI | {en.PrefillTokensPerSecond:F1} vs {ga.PrefillTokensPerSecond:F1} tokens/s = {prefill:F2}× | {Yes(prefill >= 1.5)} |\n");
            md.Append(c, $"| TTFT ≤ 0.7× GenAI's | {en.TimeToFirstTokenMs:F0} vs {ga.TimeToFirstTokenMs:F0} ms = {ttft:F2}× | {Yes(ttft <= 0.7)} |\n");
        }
        md.Append(c, $"| ≥ 70% of the bandwidth roofline | {RooflineFraction:P0} | {Yes(RooflineFraction >= 0.7)} |\n");
        if (Scaling8 is { } s)
        {
            md.Append(c, $"| 8 concurrent ≥ 4× one | {s:F2}× | {Yes(s >= 4)} |\n");
        }
        return md.ToString();
    }

    private static string Yes(bool met) => met ? "yes" : "**no**";
}
