using ScottPlot;

namespace Qwen.Benchmarks;

/// <summary>Aggregate decode throughput by concurrency, with GenAI batch 1 and the roofline as reference lines.</summary>
public static class ThroughputChart
{
    /// <summary>Saves a small PNG of <paramref name="report"/>.</summary>
    public static void Save(BenchmarkReport report, string path)
    {
        var plot = new Plot();
        var bars = report.Concurrency.Select((r, i) => new Bar { Position = i, Value = r.AggregateTokensPerSecond, FillColor = Colors.SteelBlue }).ToArray();
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. report.Concurrency.Select((_, i) => (double)i)], [.. report.Concurrency.Select(r => $"{r.Requests}")]);
        if (report.GenAi is { } genai)
        {
            var line = plot.Add.HorizontalLine(genai.DecodeTokensPerSecond);
            line.LegendText = $"GenAI {report.GenAiVersion}, batch 1";
            line.Color = Colors.OrangeRed;
        }
        var roof = plot.Add.HorizontalLine(report.RooflineTokensPerSecond);
        roof.LegendText = "bandwidth roofline, batch 1";
        roof.Color = Colors.Gray;
        roof.LinePattern = LinePattern.Dashed;
        plot.Title("Aggregate tokens/s by concurrent requests");
        plot.XLabel("concurrent requests");
        plot.YLabel("tokens/s");
        plot.ShowLegend();
        plot.Axes.Margins(bottom: 0);
        plot.SavePng(path, 720, 420);
    }
}
