using System.ComponentModel;
using System.Globalization;
using Qwen.Eval.Endpoints;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Qwen.Eval.Perplexity;

/// <summary><c>qwen-eval perplexity</c>: the long-context table (perplexity by length, one column per endpoint) as Markdown, JSON and PNG.</summary>
public sealed class PerplexityCommand : AsyncCommand<PerplexityCommand.Settings>
{
    /// <summary>Command-line settings.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-e|--endpoint <URL>")]
        [Description("[label=]base URL of an OpenAI-compatible server (…/v1); repeat for several settings. Default http://127.0.0.1:8080/v1.")]
        public string[] Endpoints { get; init; } = [];

        [CommandOption("-d|--data <FILE>")]
        [Description("Token ids to evaluate: little-endian int32 (.ids), optionally gzip (.ids.gz).")]
        public string Data { get; init; } = "";

        [CommandOption("-l|--lengths <LIST>")]
        [Description("Context lengths, comma-separated.")]
        public string Lengths { get; init; } = "128,256,512,1024";

        [CommandOption("-w|--windows <N>")]
        [Description("Windows per length (the same windows for every length and endpoint).")]
        public int Windows { get; init; } = 8;

        [CommandOption("-o|--out <DIR>")]
        [Description("Where perplexity.json, perplexity.md and perplexity.png go.")]
        public string Output { get; init; } = "artifacts/eval";

        [CommandOption("--api-key <KEY>")]
        [Description("Bearer key (default: OPENAI_API_KEY).")]
        public string? ApiKey { get; init; }

        [CommandOption("--model <ID>")]
        [Description("Model id to send (default: none; single-model servers ignore it).")]
        public string? Model { get; init; }

        [CommandOption("--title <TEXT>")]
        public string? Title { get; init; }

        [CommandOption("--from <JSON>")]
        [Description("Re-render the table and plot from an earlier perplexity.json instead of querying endpoints.")]
        public string? From { get; init; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (string.IsNullOrEmpty(Data) && string.IsNullOrEmpty(From))
            {
                return ValidationResult.Error("--data is required (a .ids or .ids.gz file of token ids).");
            }
            if (Windows < 1)
            {
                return ValidationResult.Error("--windows must be at least 1.");
            }
            return ValidationResult.Success();
        }
    }

    /// <inheritdoc />
    protected override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.From is { } from)
        {
            return await WriteAsync(PerplexityReport.FromJson(await File.ReadAllTextAsync(from, cancellationToken)), settings, cancellationToken);
        }
        int[] lengths;
        EndpointSpec[] endpoints;
        try
        {
            lengths = [.. settings.Lengths.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
            endpoints = [.. (settings.Endpoints.Length == 0 ? ["http://127.0.0.1:8080/v1"] : settings.Endpoints).Select(EndpointSpec.Parse)];
        }
        catch (FormatException error)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{error.Message}[/]");
            return 2;
        }
        if (!File.Exists(settings.Data))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{settings.Data} does not exist.[/]");
            return 2;
        }
        var tokens = await TokenData.ReadAsync(settings.Data, cancellationToken);
        var apiKey = settings.ApiKey ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY");
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        var clients = endpoints.Select(e => (e.Label, new CompletionsScoringClient(http, e.BaseUri, apiKey, settings.Model))).ToArray();
        AnsiConsole.MarkupLineInterpolated($"{settings.Data}: {tokens.Length:N0} tokens; {settings.Windows} windows × lengths {string.Join(", ", lengths)} on {endpoints.Length} endpoint(s)");

        PerplexityReport report = null!;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var tasks = endpoints.Select(e => progress.AddTask(Markup.Escape($"{e.Label} ({e.BaseUri})"), maxValue: lengths.Distinct().Count() * settings.Windows)).ToArray();
                report = await PerplexityEvaluator.RunAsync(Path.GetFileName(settings.Data), tokens, clients, lengths, settings.Windows,
                    e => tasks[e].Increment(1), cancellationToken);
            });
        return await WriteAsync(report, settings, cancellationToken);
    }

    private static async Task<int> WriteAsync(PerplexityReport report, Settings settings, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(settings.Output);
        await File.WriteAllTextAsync(Path.Combine(settings.Output, "perplexity.json"), report.ToJson(), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(settings.Output, "perplexity.md"), report.ToMarkdown(), cancellationToken);
        PerplexityChart.Save(report, Path.Combine(settings.Output, "perplexity.png"), settings.Title);

        var table = new Table().AddColumn(new TableColumn("length").RightAligned());
        foreach (var s in report.Settings)
        {
            table.AddColumn(new TableColumn(Markup.Escape(s.Label)).RightAligned());
        }
        foreach (var length in report.Lengths)
        {
            var cells = new List<string> { length.ToString(CultureInfo.InvariantCulture) };
            cells.AddRange(report.Settings.Select(s => s.Points.First(p => p.Length == length).Perplexity.ToString("F2", CultureInfo.InvariantCulture)));
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"Wrote perplexity.json, perplexity.md and perplexity.png to {Path.GetFullPath(settings.Output)}");
        return 0;
    }
}
