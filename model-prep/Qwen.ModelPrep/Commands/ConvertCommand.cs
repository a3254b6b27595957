using System.ComponentModel;
using System.Diagnostics;
using Qwen.ModelPrep.Conversion;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Qwen.ModelPrep.Commands;

/// <summary>The <c>convert</c> command: Hugging Face Qwen checkpoint → ONNX model package.</summary>
public sealed class ConvertCommand : AsyncCommand<ConvertCommand.Settings>
{
    /// <summary>Command-line options of <c>convert</c>.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-i|--input <DIR>")]
        [Description("Hugging Face checkpoint directory: config.json, model.safetensors or model.safetensors.index.json + shards, qwen.tiktoken.")]
        public string Input { get; init; } = "";

        [CommandOption("-o|--output <DIR>")]
        [Description("Package directory to create. Written in a temporary sibling and renamed into place; an existing package there is replaced.")]
        public string Output { get; init; } = "";

        [CommandOption("--dtype <DTYPE>")]
        [Description("Weight precision: fp32, fp16 (fp16 weights, activations and KV cache) or int4 (MatMulNBits weights; fp32 activations for --target cpu, fp16 for --target cuda). Default fp32.")]
        [DefaultValue("fp32")]
        public string Dtype { get; init; } = "fp32";

        [CommandOption("--target <EP>")]
        [Description("Execution provider the package is for: cpu (default; int4 keeps fp32 activations and KV cache) or cuda (fp16 activations and KV cache, as ONNX Runtime's CUDA kernels need; also the DirectML target). cuda needs --dtype fp16 or int4.")]
        [DefaultValue("cpu")]
        public string Target { get; init; } = "cpu";

        [CommandOption("--kv-dtype <DTYPE>")]
        [Description("KV cache element type: fp32 or fp16. Default: fp16 when activations are fp16 (--dtype fp16, --target cuda), else fp32. fp16 on an fp32-activation package runs only attention in fp16 and halves the cache: twice the positions per KV budget, but slower CPU attention with ONNX Runtime 1.31 (docs/benchmarks).")]
        public string? KvDtype { get; init; }

        [CommandOption("--block-size <N>")]
        [Description("int4: inputs per quantization block: 32, 64 or 128. Default 128 (as Qwen's own GPTQ int4 release; docs/quality.md has the accuracy and docs/benchmarks the speed of each).")]
        [DefaultValue(128)]
        public int BlockSize { get; init; } = 128;

        [CommandOption("--accuracy-level <N>")]
        [Description("int4: MatMulNBits accuracy_level 0-4 (0 = compute in the activation type, 4 = int8 activations, fastest on CPU). Default 4 for --target cpu, 0 for --target cuda (the CUDA kernel computes in fp16 either way).")]
        public int? AccuracyLevel { get; init; }

        [CommandOption("--asymmetric")]
        [Description("int4: quantize with per-block zero points (default: symmetric blocks).")]
        public bool Asymmetric { get; init; }

        [CommandOption("--lm-head-bits <N>")]
        [Description("int4: bits for lm_head: 4, 8 or 16 (16 keeps it in float16). Default 8.")]
        [DefaultValue(8)]
        public int LmHeadBits { get; init; } = 8;

        [CommandOption("--max-context <N>")]
        [Description("Longest sequence (prompt + output) the package serves, at most 32767. Default: from the checkpoint.")]
        public int? MaxContext { get; init; }

        [CommandOption("--name <NAME>")]
        [Description("Model name in the manifest (served by the API). Default: the output directory's name.")]
        public string? Name { get; init; }

        [CommandOption("--genai")]
        [Description("Also write genai/ (genai_config.json + graph) for ONNX Runtime GenAI 0.18, used by the benchmarks.")]
        public bool GenAi { get; init; }

        [CommandOption("--force")]
        [Description("Replace the output directory even if it exists and is not a model package.")]
        public bool Force { get; init; }

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Input))
            {
                return ValidationResult.Error("--input is required: the Hugging Face checkpoint directory.");
            }
            if (string.IsNullOrWhiteSpace(Output))
            {
                return ValidationResult.Error("--output is required: the package directory to create.");
            }
            if (!Enum.TryParse<ModelDtype>(Dtype, ignoreCase: true, out _))
            {
                return ValidationResult.Error($"--dtype {Dtype} is not supported; use fp32, fp16 or int4.");
            }
            if (!Enum.TryParse<ModelTarget>(Target, ignoreCase: true, out _))
            {
                return ValidationResult.Error($"--target {Target} is not supported; use cpu or cuda.");
            }
            if (KvDtype is not null && !Enum.TryParse<KvCacheDtype>(KvDtype, ignoreCase: true, out _))
            {
                return ValidationResult.Error($"--kv-dtype {KvDtype} is not supported; use fp32 or fp16.");
            }
            return ValidationResult.Success();
        }

        /// <summary>The converter options these settings describe.</summary>
        public ConvertOptions ToOptions() => new()
        {
            Input = Input,
            Output = Output,
            Dtype = Enum.Parse<ModelDtype>(Dtype, ignoreCase: true),
            Target = Enum.Parse<ModelTarget>(Target, ignoreCase: true),
            KvDtype = KvDtype is null ? null : Enum.Parse<KvCacheDtype>(KvDtype, ignoreCase: true),
            BlockSize = BlockSize,
            AccuracyLevel = AccuracyLevel,
            Asymmetric = Asymmetric,
            LmHeadBits = LmHeadBits,
            MaxContext = MaxContext,
            Name = Name,
            GenAi = GenAi,
            Force = Force,
        };
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions();
        var converter = PackageConverter.ForSafetensors();
        var watch = Stopwatch.StartNew();
        Qwen.Inference.Packaging.ModelManifest? manifest = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask($"convert → {options.Dtype.ToString().ToLowerInvariant()} ({options.Target.ToString().ToLowerInvariant()})", maxValue: 1);
                var progress = new Progress<ConversionProgress>(p =>
                {
                    task.MaxValue = Math.Max(1, p.TotalElements);
                    task.Value = p.CompletedElements;
                    task.Description = Markup.Escape(p.Step);
                });
                manifest = await converter.ConvertAsync(options, progress, cancellationToken);
                task.Description = "done";
                task.Value = task.MaxValue;
            });
        var bytes = manifest!.Files.Sum(f => f.Size);
        AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(Path.GetFullPath(options.Output))} ({bytes / 1e6:N1} MB, {manifest.Files.Count} files) in {watch.Elapsed.TotalSeconds:N1} s");
        return 0;
    }
}
