using System.ComponentModel;
using System.Text.Json;
using Spectre.Console.Cli;

namespace Qwen.Benchmarks.GenAi;

/// <summary><c>bench</c>: the GenAI single-stream benchmark; prints its result as one JSON line (read by Qwen.Benchmarks).</summary>
public sealed class BenchCommand : Command<BenchCommand.Settings>
{
    /// <summary>Command-line settings.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-m|--model <DIR>")]
        [Description("The package's genai/ directory (genai_config.json + graph).")]
        public required string Model { get; init; }

        [CommandOption("--prompt-tokens <N>")]
        public int PromptTokens { get; init; } = 512;

        [CommandOption("--decode-tokens <N>")]
        public int DecodeTokens { get; init; } = 64;

        [CommandOption("--repeats <N>")]
        public int Repeats { get; init; } = 3;
    }

    /// <inheritdoc />
    protected override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var result = GenAiBenchmark.Single(settings.Model, settings.PromptTokens, settings.DecodeTokens, settings.Repeats);
        Console.Out.WriteLine(JsonSerializer.Serialize(new { version = GenAiBenchmark.Version, result }));
        return 0;
    }
}
