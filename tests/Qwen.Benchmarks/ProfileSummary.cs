using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Qwen.Benchmarks;

/// <summary>Per-operator time of an ONNX Runtime profile (Chrome trace JSON), grouped by run shape (prefill of S tokens, decode of B rows).</summary>
public static class ProfileSummary
{
    /// <summary>Reads <paramref name="traceFile"/> and returns a Markdown table per run shape: mean run time and each operator type's share of it.</summary>
    public static string Summarize(string traceFile, string title)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(traceFile));
        var runs = new List<(long Start, long End)>();
        var nodes = new List<(long Ts, long Dur, string Op, long Tokens, long Rows)>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var cat = e.GetProperty("cat").GetString();
            var name = e.GetProperty("name").GetString() ?? "";
            var ts = e.GetProperty("ts").GetInt64();
            var dur = e.GetProperty("dur").GetInt64();
            if (cat == "Session" && name == "model_run")
            {
                runs.Add((ts, ts + dur));
            }
            else if (cat == "Node" && name.EndsWith("_kernel_time", StringComparison.Ordinal) && e.TryGetProperty("args", out var args))
            {
                var op = args.TryGetProperty("op_name", out var o) ? o.GetString() ?? "?" : "?";
                var (rows, tokens) = (0L, 0L);
                // The embedding Gather's second input is input_ids [rows, tokens]: it tells the run's shape.
                if (op == "Gather" && args.TryGetProperty("input_type_shape", out var shapes) && shapes.GetArrayLength() == 2)
                {
                    foreach (var p in shapes[1].EnumerateObject())
                    {
                        var dims = p.Value.EnumerateArray().Select(d => d.GetInt64()).ToArray();
                        if (dims.Length == 2)
                        {
                            (rows, tokens) = (dims[0], dims[1]);
                        }
                    }
                }
                nodes.Add((ts, dur, op, tokens, rows));
            }
        }
        runs.Sort();
        var groups = new Dictionary<string, (int Runs, long Total, Dictionary<string, long> Ops)>(StringComparer.Ordinal);
        // Host time between two consecutive decode runs: sampling, stop checks, scheduling and the next step's inputs.
        var gaps = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        var perRun = new (string Key, Dictionary<string, long> Ops, long Dur)[runs.Count];
        for (var r = 0; r < runs.Count; r++)
        {
            perRun[r] = ("", new Dictionary<string, long>(StringComparer.Ordinal), runs[r].End - runs[r].Start);
        }
        foreach (var n in nodes)
        {
            var r = runs.FindLastIndex(x => x.Start <= n.Ts);
            if (r < 0 || n.Ts > runs[r].End)
            {
                continue;
            }
            perRun[r].Ops[n.Op] = perRun[r].Ops.GetValueOrDefault(n.Op) + n.Dur;
            if (n.Rows > 0 && perRun[r].Key.Length == 0)
            {
                perRun[r].Key = n.Tokens == 1 ? $"decode, {n.Rows} row(s)" : $"prefill, {n.Rows}×{n.Tokens} tokens";
            }
        }
        for (var r = 1; r < perRun.Length; r++)
        {
            if (perRun[r].Key.Length > 0 && perRun[r].Key == perRun[r - 1].Key && perRun[r].Key.StartsWith("decode", StringComparison.Ordinal))
            {
                (gaps.TryGetValue(perRun[r].Key, out var list) ? list : gaps[perRun[r].Key] = []).Add(runs[r].Start - runs[r - 1].End);
            }
        }
        foreach (var run in perRun.Where(p => p.Key.Length > 0))
        {
            var g = groups.TryGetValue(run.Key, out var existing) ? existing : (Runs: 0, Total: 0L, Ops: new Dictionary<string, long>(StringComparer.Ordinal));
            g.Runs++;
            g.Total += run.Dur;
            foreach (var (op, dur) in run.Ops)
            {
                g.Ops[op] = g.Ops.GetValueOrDefault(op) + dur;
            }
            groups[run.Key] = g;
        }
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"### {title}\n\n");
        foreach (var (key, g) in groups.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var inOps = g.Ops.Values.Sum();
            md.Append(CultureInfo.InvariantCulture, $"**{key}**: {g.Runs} runs, {g.Total / 1000.0 / g.Runs:F1} ms per run, {inOps / 1000.0 / g.Runs:F1} ms of it in operators");
            if (gaps.TryGetValue(key, out var between) && between.Count > 0)
            {
                between.Sort();
                md.Append(CultureInfo.InvariantCulture, $"; host time between consecutive runs: median {between[between.Count / 2] / 1000.0:F2} ms");
            }
            md.Append("\n\n");
            md.Append("| operator | ms per run | share of run |\n|---|---:|---:|\n");
            foreach (var (op, dur) in g.Ops.OrderByDescending(o => o.Value).Take(12))
            {
                md.Append(CultureInfo.InvariantCulture, $"| {op} | {dur / 1000.0 / g.Runs:F2} | {100.0 * dur / g.Total:F1}% |\n");
            }
            md.Append('\n');
        }
        return md.ToString();
    }
}
