using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.Inference.Chat;
using Qwen.Inference.Generation;
using Qwen.Inference.Runtime;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Qwen.ModelPrep.Commands;

/// <summary>The <c>generate</c> command: runs one request on a package (debugging) and prints text or, with <c>--json</c>, ids, text and per-token logprobs.</summary>
public sealed class GenerateCommand : AsyncCommand<GenerateCommand.Settings>
{
    /// <summary>Options of <c>generate</c>.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--package <DIR>")]
        [Description("Model package directory (with qwen-model.json).")]
        public string Package { get; init; } = "";

        [CommandOption("--prompt <TEXT>")]
        [Description("Raw prompt text, encoded as plain text (no chat template).")]
        public string? Prompt { get; init; }

        [CommandOption("--chat <TEXT>")]
        [Description("A user message wrapped in the ChatML template with the default system prompt.")]
        public string? Chat { get; init; }

        [CommandOption("--ids <IDS>")]
        [Description("Prompt token ids, comma-separated.")]
        public string? Ids { get; init; }

        [CommandOption("--max-tokens <N>")]
        [Description("Most new tokens (default: the package's generation default, capped by the context).")]
        public int? MaxTokens { get; init; }

        [CommandOption("--temperature <T>")]
        [Description("Sampling temperature; 0 (the default here) is greedy.")]
        public double Temperature { get; init; }

        [CommandOption("--top-p <P>")]
        [Description("Nucleus mass (default 1 = off).")]
        public double TopP { get; init; } = 1.0;

        [CommandOption("--top-k <K>")]
        [Description("Top-k (default 0 = off).")]
        public int TopK { get; init; }

        [CommandOption("--repetition-penalty <R>")]
        [Description("HF repetition penalty (default 1 = off).")]
        public double RepetitionPenalty { get; init; } = 1.0;

        [CommandOption("--seed <S>")]
        [Description("Random seed for sampling.")]
        public long? Seed { get; init; }

        [CommandOption("--stop <TEXT>")]
        [Description("Stop string (repeatable).")]
        public string[] Stop { get; init; } = [];

        [CommandOption("--top-logprobs <N>")]
        [Description("Alternatives per token in --json output (0–20).")]
        public int TopLogprobs { get; init; }

        [CommandOption("--provider <EP>")]
        [Description("Execution provider: cpu (default), cuda or directml.")]
        public string Provider { get; init; } = "cpu";

        [CommandOption("--threads <N>")]
        [Description("CPU intra-op threads (default: ONNX Runtime's choice).")]
        public int? Threads { get; init; }

        [CommandOption("--context <N>")]
        [Description("Context length to allocate (default: the package's MaxContext).")]
        public int? Context { get; init; }

        [CommandOption("--verify <MODE>")]
        [Description("Package check: first (sha256 on the first load in this process, the default), always, or sizes.")]
        public string Verify { get; init; } = "first";

        [CommandOption("--json")]
        [Description("Print one JSON object: prompt ids, ids, text, per-token logprobs, finish reason, usage, timings.")]
        public bool Json { get; init; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Package))
            {
                return ValidationResult.Error("--package is required.");
            }
            var inputs = new[] { Prompt, Chat, Ids }.Count(s => s is not null);
            if (inputs != 1)
            {
                return ValidationResult.Error("Give exactly one of --prompt, --chat or --ids.");
            }
            if (Temperature < 0 || TopP is < 0 or > 1 || TopK < 0 || RepetitionPenalty <= 0)
            {
                return ValidationResult.Error("--temperature must be ≥ 0, --top-p within 0…1, --top-k ≥ 0, --repetition-penalty > 0.");
            }
            if (TopLogprobs is < 0 or > GenerationRequestChecks.MaxTopLogprobs)
            {
                return ValidationResult.Error($"--top-logprobs must be within 0…{GenerationRequestChecks.MaxTopLogprobs}.");
            }
            return ValidationResult.Success();
        }
    }

    /// <inheritdoc />
    protected override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var provider = settings.Provider.ToLowerInvariant() switch
        {
            "cpu" => ExecutionProvider.Cpu,
            "cuda" => ExecutionProvider.Cuda,
            "directml" or "dml" => ExecutionProvider.DirectML,
            _ => throw new ModelPrepException($"--provider '{settings.Provider}' is unknown; use cpu, cuda or directml."),
        };
        var verification = settings.Verify.ToLowerInvariant() switch
        {
            "first" => PackageVerification.FirstLoad,
            "always" => PackageVerification.Always,
            "sizes" => PackageVerification.SizesOnly,
            _ => throw new ModelPrepException($"--verify '{settings.Verify}' is unknown; use first, always or sizes."),
        };
        // The serving engine with one row: the command runs exactly the code the hosts run, on any provider.
        var options = new QwenSchedulerOptions
        {
            Runtime = new ModelRuntimeOptions
            {
                ExecutionProvider = provider, IntraOpThreads = settings.Threads, ContextLength = settings.Context, Verification = verification,
            },
            Scheduling = new SchedulerOptions { MaxBatchSize = 1, MaxQueueLength = 1 },
        };

        QwenScheduler generator;
        try
        {
            generator = QwenScheduler.Load(settings.Package, options);
        }
        catch (QwenEngineException ex)
        {
            throw new ModelPrepException(ex.Message, ex);
        }
        await using (generator.ConfigureAwait(false))
        {
            var prompt = BuildPrompt(settings, generator);
            var request = new GenerationRequest
            {
                PromptTokens = prompt,
                MaxNewTokens = settings.MaxTokens,
                Sampling = new SamplingOptions
                {
                    DoSample = settings.Temperature > 0,
                    Temperature = settings.Temperature,
                    TopP = settings.TopP,
                    TopK = settings.TopK,
                    RepetitionPenalty = settings.RepetitionPenalty,
                    Seed = settings.Seed,
                },
                StopStrings = settings.Stop,
                Logprobs = settings.Json,
                TopLogprobs = settings.TopLogprobs,
            };

            var started = Stopwatch.GetTimestamp();
            var tokens = new List<GeneratedToken>();
            var text = new System.Text.StringBuilder();
            FinishReason reason = FinishReason.Length;
            GenerationUsage? usage = null;
            try
            {
                await foreach (var update in generator.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
                {
                    tokens.AddRange(update.Tokens);
                    text.Append(update.TextDelta);
                    if (!settings.Json)
                    {
                        Console.Out.Write(update.TextDelta);
                        Console.Out.Flush();
                    }
                    if (update.FinishReason is { } finish)
                    {
                        reason = finish;
                        usage = update.Usage;
                    }
                }
            }
            catch (Exception ex) when (ex is ContextLengthExceededException or ArgumentException or QwenEngineException)
            {
                throw new ModelPrepException(ex.Message, ex);
            }
            var elapsed = Stopwatch.GetElapsedTime(started);
            usage ??= new GenerationUsage(prompt.Count, tokens.Count, 0, elapsed);
            var decodeSeconds = (elapsed - usage.TimeToFirstToken).TotalSeconds;
            var decodeRate = usage.CompletionTokens > 1 && decodeSeconds > 0 ? (usage.CompletionTokens - 1) / decodeSeconds : 0;

            if (settings.Json)
            {
                Console.Out.WriteLine(ToJson(generator, prompt, tokens, text.ToString(), reason, usage, elapsed, decodeRate));
            }
            else
            {
                Console.Out.WriteLine();
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{reason.ToString().ToLowerInvariant()}] prompt {usage.PromptTokens} tokens, completion {usage.CompletionTokens} tokens, TTFT {usage.TimeToFirstToken.TotalMilliseconds:0.0} ms, decode {decodeRate:0.0} tokens/s"));
            }
            return 0;
        }
    }

    private static IReadOnlyList<int> BuildPrompt(Settings settings, QwenScheduler generator)
    {
        if (settings.Ids is { } ids)
        {
            try
            {
                return [.. ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
            }
            catch (FormatException ex)
            {
                throw new ModelPrepException($"--ids '{ids}' is not a comma-separated list of integers.", ex);
            }
        }
        if (settings.Chat is { } chat)
        {
            return new ChatMlPromptBuilder(generator.Tokenizer).Build(chat).Tokens;
        }
        return generator.Tokenizer.Encode(settings.Prompt!);
    }

    private static string ToJson(QwenScheduler generator, IReadOnlyList<int> prompt, List<GeneratedToken> tokens, string text,
        FinishReason reason, GenerationUsage usage, TimeSpan elapsed, double decodeRate)
    {
        var tokenizer = generator.Tokenizer;
        var perToken = new JsonArray();
        foreach (var token in tokens)
        {
            var top = new JsonArray();
            foreach (var alternative in token.TopLogprobs)
            {
                top.Add(new JsonObject
                {
                    ["id"] = alternative.Id,
                    ["text"] = tokenizer.Decode([alternative.Id]),
                    ["logprob"] = alternative.Logprob,
                });
            }
            perToken.Add(new JsonObject
            {
                ["id"] = token.Id,
                ["text"] = tokenizer.Decode([token.Id]),
                ["logprob"] = float.IsNaN(token.Logprob) ? null : token.Logprob,
                ["top_logprobs"] = top,
            });
        }
        var json = new JsonObject
        {
            ["model"] = generator.Manifest.Name,
            ["prompt_ids"] = new JsonArray([.. prompt.Select(id => (JsonNode)id)]),
            ["ids"] = new JsonArray([.. tokens.Select(t => (JsonNode)t.Id)]),
            ["text"] = text,
            ["finish_reason"] = reason == FinishReason.Stop ? "stop" : "length",
            ["tokens"] = perToken,
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = usage.PromptTokens,
                ["completion_tokens"] = usage.CompletionTokens,
                ["cached_prompt_tokens"] = usage.CachedPromptTokens,
                ["time_to_first_token_ms"] = Math.Round(usage.TimeToFirstToken.TotalMilliseconds, 3),
                ["total_ms"] = Math.Round(elapsed.TotalMilliseconds, 3),
                ["decode_tokens_per_second"] = Math.Round(decodeRate, 2),
            },
        };
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
