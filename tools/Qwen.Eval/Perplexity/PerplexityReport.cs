using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Qwen.Eval.Perplexity;

/// <summary>Perplexity by context length for one or more settings (endpoints), over the same windows.</summary>
public sealed record PerplexityReport
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The token file evaluated.</summary>
    public required string Data { get; init; }

    /// <summary>Windows per length.</summary>
    public required int Windows { get; init; }

    /// <summary>Context lengths, ascending.</summary>
    public required IReadOnlyList<int> Lengths { get; init; }

    /// <summary>One entry per endpoint, in the order given.</summary>
    public required IReadOnlyList<PerplexitySetting> Settings { get; init; }

    /// <summary>The report as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static PerplexityReport FromJson(string json) => JsonSerializer.Deserialize<PerplexityReport>(json, Json)
        ?? throw new InvalidDataException("empty perplexity report");

    /// <summary>A Markdown table: one row per length, one column per setting (perplexity, 2 decimals).</summary>
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.Append("| length |");
        foreach (var s in Settings)
        {
            md.Append(' ').Append(s.Label).Append(" |");
        }
        md.AppendLine();
        md.Append("|---:|").Append(string.Concat(Enumerable.Repeat("---:|", Settings.Count))).AppendLine();
        foreach (var length in Lengths)
        {
            md.Append("| ").Append(length.ToString(CultureInfo.InvariantCulture)).Append(" |");
            foreach (var s in Settings)
            {
                var point = s.Points.First(p => p.Length == length);
                md.Append(' ').Append(point.Perplexity.ToString("F2", CultureInfo.InvariantCulture)).Append(" |");
            }
            md.AppendLine();
        }
        return md.ToString();
    }
}

/// <summary>One setting (endpoint) and its perplexity at each length.</summary>
/// <param name="Label">Name of the setting.</param>
/// <param name="Endpoint">Base URL it was measured on.</param>
/// <param name="Points">One per length, ascending.</param>
public sealed record PerplexitySetting(string Label, string Endpoint, IReadOnlyList<PerplexityPoint> Points);

/// <summary>Perplexity at one context length.</summary>
/// <param name="Length">Tokens per window.</param>
/// <param name="ScoredTokens">Tokens scored over all windows ((length − 1) per window: the first token has no prediction).</param>
/// <param name="MeanLogLikelihood">Mean natural-log probability per scored token, pooled over the windows.</param>
/// <param name="Perplexity">exp(−mean log-likelihood).</param>
/// <param name="WindowPerplexities">Perplexity of each window alone, in window order.</param>
public sealed record PerplexityPoint(int Length, int ScoredTokens, double MeanLogLikelihood, double Perplexity, IReadOnlyList<double> WindowPerplexities);
