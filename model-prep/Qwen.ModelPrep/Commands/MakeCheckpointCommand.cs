using System.ComponentModel;
using System.Diagnostics;
using Qwen.ModelPrep.Checkpoints;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Qwen.ModelPrep.Commands;

/// <summary>The <c>make-checkpoint</c> command: a seeded random checkpoint in the real HF layout.</summary>
public sealed class MakeCheckpointCommand : AsyncCommand<MakeCheckpointCommand.Settings>
{
    /// <summary>Options of <c>make-checkpoint</c>.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--preset <PRESET>")]
        [Description("tiny | small | 1.8b | 7b")]
        public string Preset { get; init; } = "tiny";

        [CommandOption("--seed <SEED>")]
        [Description("Random seed; the same seed and options give the same bytes.")]
        public ulong Seed { get; init; } = 1;

        [CommandOption("--output <DIR>")]
        [Description("Checkpoint directory to create (an existing checkpoint there is replaced).")]
        public string? Output { get; init; }

        [CommandOption("--style <STYLE>")]
        [Description("config.json key style: v1.0 (n_embd, ffn_hidden_size, …) or v1.1 (hidden_size, intermediate_size, …).")]
        public string Style { get; init; } = "v1.1";

        [CommandOption("--shards <K>")]
        [Description("Number of safetensors shards; above 1 also writes model.safetensors.index.json.")]
        public int Shards { get; init; } = 1;

        [CommandOption("--tokenizer <FILE>")]
        [Description("qwen.tiktoken to copy in (default: artifacts/tokenizer/qwen.tiktoken of this repo, or one next to the executable).")]
        public string? Tokenizer { get; init; }

        [CommandOption("--dtype <DTYPE>")]
        [Description("Weight dtype: bf16 (default, like the real checkpoints), fp16 or fp32.")]
        public string Dtype { get; init; } = "bf16";
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(settings.Output))
        {
            throw new ModelPrepException("--output <DIR> is required");
        }
        var options = new CheckpointGeneratorOptions
        {
            Preset = CheckpointPreset.Get(settings.Preset),
            Seed = settings.Seed,
            OutputDirectory = settings.Output,
            Style = settings.Style,
            Shards = settings.Shards,
            TokenizerPath = settings.Tokenizer ?? FindDefaultTokenizer(),
            Dtype = SafetensorsDtype.Parse(settings.Dtype),
        };
        var total = CheckpointGenerator.TotalElements(options.Preset);
        var watch = Stopwatch.StartNew();
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask($"{options.Preset.Name} checkpoint ({total / 1e6:F0} M weights)", maxValue: total);
                await CheckpointGenerator.WriteAsync(options, new Progress<long>(done => task.Value = done), cancellationToken);
                task.Value = total;
            });
        AnsiConsole.MarkupLineInterpolated($"Wrote {Path.GetFullPath(options.OutputDirectory)} ({options.Preset.Name}, {options.Style}, seed {options.Seed}, {options.Shards} shard(s)) in {watch.Elapsed.TotalSeconds:F1} s. Random weights: not a trained model.");
        return 0;
    }

    /// <summary>artifacts/tokenizer/qwen.tiktoken of the enclosing repository, or qwen.tiktoken next to the executable.</summary>
    /// <exception cref="ModelPrepException">Neither exists.</exception>
    internal static string FindDefaultTokenizer()
    {
        var starts = new[] { Environment.CurrentDirectory, AppContext.BaseDirectory };
        foreach (var start in starts)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Qwen.Functions.sln")))
                {
                    var candidate = Path.Combine(dir.FullName, "artifacts", "tokenizer", CheckpointGenerator.TokenizerFileName);
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                    break;
                }
            }
        }
        var besideExe = Path.Combine(AppContext.BaseDirectory, CheckpointGenerator.TokenizerFileName);
        if (File.Exists(besideExe))
        {
            return besideExe;
        }
        throw new ModelPrepException("no qwen.tiktoken found (looked for artifacts/tokenizer/qwen.tiktoken in the repository and next to the executable); run ./eng/bootstrap.sh or pass --tokenizer <file>");
    }
}
