using System.ComponentModel;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Qwen.Benchmarks;

/// <summary>Runs every benchmark on one package and writes JSON, Markdown and a PNG chart.</summary>
public sealed class BenchmarkCommand : AsyncCommand<BenchmarkCommand.Settings>
{
    /// <summary>Command-line settings.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-p|--package <DIR>")]
        [Description("Native model package (with genai/ for the ONNX Runtime GenAI comparison).")]
        public string Package { get; init; } = "artifacts/bench/qwen-1.8b-int4";

        [CommandOption("-o|--out <DIR>")]
        [Description("Where results.json, results.md and throughput.png go.")]
        public string Output { get; init; } = "docs/benchmarks";

        [CommandOption("--prompt-tokens <N>")]
        public int PromptTokens { get; init; } = 512;

        [CommandOption("--decode-tokens <N>")]
        public int DecodeTokens { get; init; } = 64;

        [CommandOption("--concurrency <LIST>")]
        public string Concurrency { get; init; } = "1,4,8,16";

        [CommandOption("--concurrent-prompt-tokens <N>")]
        public int ConcurrentPromptTokens { get; init; } = 32;

        [CommandOption("--threads <N>")]
        [Description("ONNX Runtime intra-op threads (default: all cores).")]
        public int? Threads { get; init; }

        [CommandOption("--execution-provider <EP>")]
        [Description("cpu (default) or cuda: where the engine runs (the GenAI comparison stays on CPU; pass --skip-genai on a GPU).")]
        public string ExecutionProvider { get; init; } = "cpu";

        [CommandOption("--repeats <N>")]
        public int Repeats { get; init; } = 3;

        [CommandOption("--skip-genai")]
        public bool SkipGenAi { get; init; }

        [CommandOption("--mask-cost")]
        [Description("Only measure constrained decoding: the per-token mask cost (json_object and a schema) next to the decode step; writes mask-cost.md/json.")]
        public bool MaskCost { get; init; }

        [CommandOption("--genai-peer <DLL>")]
        [Description("The GenAI peer (Qwen.Benchmarks.GenAi.dll); default: the one built beside this benchmark.")]
        public string? GenAiPeer { get; init; }

        [CommandOption("--profile")]
        [Description("Instead of the benchmarks: run one request (prompt, decode) and the concurrent requests with ONNX Runtime profiling on and write per-operator times to <out>/profile.md.")]
        public bool Profile { get; init; }
    }

    /// <inheritdoc />
    protected override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var package = Path.GetFullPath(settings.Package);
        if (!File.Exists(Path.Combine(package, "qwen-model.json")))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{package} is not a model package.[/] Make one: model-prep make-checkpoint --preset 1.8b, then convert --dtype int4 --genai.");
            return 2;
        }
        if (settings.MaskCost)
        {
            return await MaskCostAsync(package, settings, cancellationToken);
        }
        var concurrency = settings.Concurrency.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        var report = new BenchmarkReport
        {
            Package = package,
            Machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}, engine on {settings.ExecutionProvider}",
            StartedUtc = DateTime.UtcNow,
            LoadAverageAtStart = LoadAverage(),
        };
        AnsiConsole.MarkupLineInterpolated($"Load average (1 min): {report.LoadAverageAtStart:F2}{(report.LoadAverageAtStart >= 1.5 ? " — the machine is busy; these figures will not be comparable" : "")}");

        AnsiConsole.MarkupLine("[bold]Memory read bandwidth[/] (multi-threaded streaming read of 1 GiB)…");
        report.ReadBandwidthProbesGBps.Add(BandwidthProbe.MeasureReadBytesPerSecond() / 1e9);
        AnsiConsole.MarkupLineInterpolated($"  {report.ReadBandwidthGBps:F1} GB/s (probed again at the end; the roofline uses the higher)");

        var provider = settings.ExecutionProvider.ToLowerInvariant() switch
        {
            "cpu" => Qwen.Inference.Runtime.ExecutionProvider.Cpu,
            "cuda" => Qwen.Inference.Runtime.ExecutionProvider.Cuda,
            _ => throw new ArgumentException($"--execution-provider '{settings.ExecutionProvider}' is not cpu or cuda."),
        };
        if (settings.Profile)
        {
            Directory.CreateDirectory(settings.Output);
            var profile = await EngineBenchmarks.ProfileAsync(package, settings.Threads, provider, settings.Output, settings.PromptTokens, settings.DecodeTokens,
                concurrency.Max(), settings.ConcurrentPromptTokens, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(settings.Output, "profile.md"), profile, cancellationToken);
            AnsiConsole.Write(new Text(profile));
            return 0;
        }
        var engine = new EngineBenchmarks(package, settings.Threads, provider);
        report.WeightBytesPerToken = engine.WeightBytesPerDecodedToken();
        AnsiConsole.MarkupLineInterpolated($"  weights read per decoded token: {report.WeightBytesPerToken / 1e6:F0} MB → roofline {report.RooflineTokensPerSecond:F1} tokens/s at batch 1");

        AnsiConsole.MarkupLine("[bold]Engine: prefill, decode at batch 1, time to first token[/]…");
        report.Engine = await engine.SingleAsync(settings.PromptTokens, settings.DecodeTokens, settings.Repeats, cancellationToken);
        Print("engine", report.Engine);

        AnsiConsole.MarkupLine("[bold]Engine: aggregate decode with concurrent requests[/]…");
        foreach (var n in concurrency)
        {
            var result = await engine.ConcurrentAsync(n, settings.ConcurrentPromptTokens, settings.DecodeTokens, cancellationToken);
            report.Concurrency.Add(result);
            AnsiConsole.MarkupLineInterpolated($"  {n,2} requests: {result.AggregateTokensPerSecond:F1} tokens/s end to end, {result.DecodeTokensPerSecond:F1} tokens/s in decode steps, mean TTFT {result.MeanTimeToFirstTokenMs:F0} ms");
        }

        if (!settings.SkipGenAi)
        {
            AnsiConsole.MarkupLine("[bold]ONNX Runtime GenAI on the same weights (genai/), in its own process[/]…");
            using var peer = await Qwen.Testing.GenAiPeer.RunAsync(settings.GenAiPeer,
                ["bench", "--model", Path.Combine(package, "genai"), "--prompt-tokens", $"{settings.PromptTokens}", "--decode-tokens", $"{settings.DecodeTokens}", "--repeats", $"{settings.Repeats}"],
                cancellationToken);
            report.GenAi = peer.RootElement.GetProperty("result").Deserialize<SingleStreamResult>() ?? throw new InvalidOperationException("The GenAI peer printed no result.");
            report.GenAiVersion = peer.RootElement.GetProperty("version").GetString() ?? "unknown";
            Print($"genai {report.GenAiVersion}", report.GenAi);
        }

        // This VM's bandwidth swings ±40% from minute to minute: the higher probe is the closer estimate of what the
        // machine can do, so the roofline (and the engine's fraction of it) is never flattered by one slow probe.
        var again = BandwidthProbe.MeasureReadBytesPerSecond() / 1e9;
        report.ReadBandwidthProbesGBps.Add(again);
        AnsiConsole.MarkupLineInterpolated($"Memory read bandwidth again: {again:F1} GB/s");
        report.FinishedUtc = DateTime.UtcNow;
        Directory.CreateDirectory(settings.Output);
        report.Write(settings.Output);
        AnsiConsole.MarkupLineInterpolated($"Wrote {Path.GetFullPath(settings.Output)}/results.json, results.md, throughput.png");
        AnsiConsole.Write(new Text(report.ToMarkdown()));
        return 0;
    }

    private static async Task<int> MaskCostAsync(string package, Settings settings, CancellationToken cancellationToken)
    {
        var provider = settings.ExecutionProvider.Equals("cuda", StringComparison.OrdinalIgnoreCase) ? Qwen.Inference.Runtime.ExecutionProvider.Cuda : Qwen.Inference.Runtime.ExecutionProvider.Cpu;
        var bench = new MaskCostBenchmarks(package, settings.Threads, provider);
        AnsiConsole.MarkupLine("[bold]Mask cost per token[/] (trie walk + apply, real documents)…");
        var masks = bench.MeasureMasks(Math.Max(settings.Repeats, 3) * 10);
        foreach (var m in masks)
        {
            AnsiConsole.MarkupLineInterpolated($"  {m.Grammar}: {m.Tokens} tokens, median {m.MedianMs:F3} ms, p90 {m.P90Ms:F3} ms, max {m.MaxMs:F3} ms");
        }
        AnsiConsole.MarkupLine("[bold]Decode step at batch 1, free and json_object[/]…");
        var (free, constrained) = await bench.MeasureDecodeAsync(settings.ConcurrentPromptTokens, settings.DecodeTokens, settings.Repeats, cancellationToken);
        Print("free", free);
        Print("json_object", constrained);
        var markdown = MaskCostBenchmarks.ToMarkdown(package, bench.IndexBuildMs, masks, free, constrained);
        Directory.CreateDirectory(settings.Output);
        await File.WriteAllTextAsync(Path.Combine(settings.Output, "mask-cost.md"), markdown, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(settings.Output, "mask-cost.json"), System.Text.Json.JsonSerializer.Serialize(
            new { package, bench.IndexBuildMs, masks, free, constrained }, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), cancellationToken);
        AnsiConsole.Write(new Text(markdown));
        return 0;
    }

    // /proc/loadavg on Linux; 0 where it does not exist.
    private static double LoadAverage() =>
        File.Exists("/proc/loadavg") && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture, out var load) ? load : 0;

    private static void Print(string name, SingleStreamResult result) =>
        AnsiConsole.MarkupLineInterpolated($"  {name}: prefill {result.PrefillTokensPerSecond:F1} tokens/s, decode {result.DecodeTokensPerSecond:F2} tokens/s, TTFT {result.TimeToFirstTokenMs:F0} ms");
}
