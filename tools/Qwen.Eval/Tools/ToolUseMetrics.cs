using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Qwen.Eval.Tools;

/// <summary>The seed's three tool-use metrics over one evaluation set, with the per-job outcomes behind them.</summary>
/// <param name="Positives">Jobs that need a tool.</param>
/// <param name="Negatives">Jobs that need none.</param>
/// <param name="ToolSelection">Share of positive jobs whose response calls the golden tool (case-insensitive).</param>
/// <param name="ToolInputRougeL">Mean Rouge-L F of the normalized Action Input over all positive jobs (0 for a wrong or missing call's empty input).</param>
/// <param name="FalsePositiveRate">Share of negative jobs whose response calls a tool.</param>
/// <param name="Jobs">Per-job outcomes, in input order.</param>
public sealed record ToolUseMetrics(int Positives, int Negatives, double ToolSelection, double ToolInputRougeL, double FalsePositiveRate, IReadOnlyList<ToolUseOutcome> Jobs)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        // A set without negative (or positive) jobs has NaN for its rate.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Computes the metrics from per-job outcomes (NaN where a set is empty).</summary>
    public static ToolUseMetrics From(IReadOnlyList<ToolUseOutcome> jobs)
    {
        var positives = jobs.Where(j => j.Positive).ToArray();
        var negatives = jobs.Where(j => !j.Positive).ToArray();
        return new ToolUseMetrics(
            positives.Length,
            negatives.Length,
            positives.Length == 0 ? double.NaN : positives.Count(j => j.ToolSelected) / (double)positives.Length,
            positives.Length == 0 ? double.NaN : positives.Average(j => j.RougeL),
            negatives.Length == 0 ? double.NaN : negatives.Count(j => j.CalledTool) / (double)negatives.Length,
            jobs);
    }

    /// <summary>Indented JSON of the metrics and the per-job outcomes.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>A Markdown table of the three metrics, overall and per language.</summary>
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine("| set | positive jobs | negative jobs | tool selection | tool input (Rouge-L) | false positive |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        Row(md, "all", this);
        foreach (var language in Jobs.Select(j => j.Language).OfType<string>().Distinct().Order(StringComparer.Ordinal))
        {
            Row(md, language, From([.. Jobs.Where(j => j.Language == language)]));
        }
        return md.ToString();
    }

    private static void Row(StringBuilder md, string name, ToolUseMetrics m) =>
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {m.Positives} | {m.Negatives} | {Percent(m.ToolSelection)} | {(double.IsNaN(m.ToolInputRougeL) ? "–" : m.ToolInputRougeL.ToString("F3", CultureInfo.InvariantCulture))} | {Percent(m.FalsePositiveRate)} |"));

    private static string Percent(double value) => double.IsNaN(value) ? "–" : (100 * value).ToString("F1", CultureInfo.InvariantCulture) + "%";
}

/// <summary>What one job scored.</summary>
/// <param name="Id">The job's id (or its 1-based line index).</param>
/// <param name="Language">The job's language tag, if any.</param>
/// <param name="Positive">True when the job needs a tool.</param>
/// <param name="CalledTool">True when the response contains "\nAction: ".</param>
/// <param name="ToolSelected">Positive jobs: called the golden tool.</param>
/// <param name="RougeL">Positive jobs: Rouge-L F of the Action Input.</param>
/// <param name="Response">The endpoint's response text.</param>
public sealed record ToolUseOutcome(string Id, string? Language, bool Positive, bool CalledTool, bool ToolSelected, double RougeL, string Response);
