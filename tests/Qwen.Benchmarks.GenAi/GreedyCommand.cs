using System.ComponentModel;
using System.Text.Json;
using Microsoft.ML.OnnxRuntimeGenAI;
using Spectre.Console.Cli;

namespace Qwen.Benchmarks.GenAi;

/// <summary><c>greedy</c>: greedy generation from a prompt; prints the whole sequence as one JSON line (tests compare it with the native graph).</summary>
public sealed class GreedyCommand : Command<GreedyCommand.Settings>
{
    /// <summary>Command-line settings.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-m|--model <DIR>")]
        [Description("The package's genai/ directory.")]
        public required string Model { get; init; }

        [CommandOption("--prompt <IDS>")]
        [Description("Comma-separated prompt token ids.")]
        public required string Prompt { get; init; }

        [CommandOption("--max-length <N>")]
        [Description("Prompt + output tokens.")]
        public int MaxLength { get; init; }
    }

    /// <inheritdoc />
    protected override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var prompt = settings.Prompt.Split(',', StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        using var model = new Model(settings.Model);
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", settings.MaxLength);
        parameters.SetSearchOption("do_sample", false);
        using var generator = new Generator(model, parameters);
        generator.AppendTokens(prompt);
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
        }
        Console.Out.WriteLine(JsonSerializer.Serialize(new { version = GenAiBenchmark.Version, sequence = generator.GetSequence(0).ToArray() }));
        return 0;
    }
}
