using ScottPlot;

namespace Qwen.Eval.Perplexity;

/// <summary>Perplexity against context length, one line per setting, lengths on a log₂ axis.</summary>
public static class PerplexityChart
{
    private static readonly Color[] Palette = [Colors.Gray, Colors.SteelBlue, Colors.OrangeRed, Colors.SeaGreen, Colors.Purple];

    /// <summary>Saves a PNG of <paramref name="report"/> to <paramref name="path"/>.</summary>
    public static void Save(PerplexityReport report, string path, string? title = null)
    {
        var plot = new Plot();
        for (var i = 0; i < report.Settings.Count; i++)
        {
            var setting = report.Settings[i];
            var xs = setting.Points.Select(p => Math.Log2(p.Length)).ToArray();
            var ys = setting.Points.Select(p => p.Perplexity).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = setting.Label;
            line.Color = Palette[i % Palette.Length];
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. report.Lengths.Select(l => Math.Log2(l))], [.. report.Lengths.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        plot.Title(title ?? $"Perplexity by context length ({report.Windows} windows)");
        plot.XLabel("context length (tokens)");
        plot.YLabel("perplexity");
        plot.ShowLegend();
        plot.Legend.Alignment = Alignment.UpperRight; // the lines fall with length on a trained model
        plot.SavePng(path, 720, 420);
    }
}
