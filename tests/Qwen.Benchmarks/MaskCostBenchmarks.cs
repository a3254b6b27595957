using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Qwen.Inference.Constraints;
using Qwen.Inference.Runtime;
using Qwen.Inference.Tokenization;

namespace Qwen.Benchmarks;

/// <summary>
/// What constrained decoding costs per token on the real Qwen vocabulary: the mask (trie walk + apply) replayed over
/// realistic JSON documents token by token, and the engine's decode step with and without a json_object constraint.
/// </summary>
public sealed class MaskCostBenchmarks(string package, int? threads, ExecutionProvider provider)
{
    /// <summary>A json_object document mixing every JSON token kind, long strings, escapes and CJK text.</summary>
    public const string JsonDocumentText = """
        {"model": "Qwen-7B", "layers": 32, "hidden": 4096, "rope": {"base": 10000, "dynamic_ntk": true, "logn": true},
         "tags": ["llm", "通义千问", null, -1.5e-3, false], "description": "A 7B decoder trained on 2.2T tokens of web text, code and maths; it writes \"quoted\" words,\nnew lines and tabs\tas escapes.",
         "files": [{"name": "model.onnx", "bytes": 1234567}, {"name": "qwen.tiktoken", "bytes": 2561218}]}
        """;

    /// <summary>A schema with an enum, a bounded string, an array, a nested object and a nullable field.</summary>
    public const string SchemaText = """
        {"type":"object","properties":{
          "name":{"type":"string","maxLength":40},
          "kind":{"enum":["person","place","thing"]},
          "score":{"type":"number"},
          "aliases":{"type":"array","items":{"type":"string","maxLength":20},"maxItems":4},
          "address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":["string","null"]}},"required":["city","zip"],"additionalProperties":false}},
         "required":["name","kind","score","aliases","address"],"additionalProperties":false}
        """;

    /// <summary>A document valid against <see cref="SchemaText"/>.</summary>
    public const string SchemaDocumentText = """
        {"name": "Ada Lovelace", "kind": "person", "score": 0.97, "aliases": ["Countess of Lovelace", "Ada"], "address": {"city": "London", "zip": null}}
        """;

    /// <summary>Milliseconds to build the vocabulary index (trie and plain-token sets), once per tokenizer.</summary>
    public double IndexBuildMs { get; private set; }

    /// <summary>Replays each document <paramref name="repeats"/> times and reports the per-token mask cost.</summary>
    public IReadOnlyList<MaskCostResult> MeasureMasks(int repeats)
    {
        var tokenizer = QwenTokenizer.Load(ModelPackage.Open(package, PackageVerification.SizesOnly).TokenizerPath);
        var started = Stopwatch.GetTimestamp();
        var warm = TokenConstraint.Create(Grammar.JsonObject(), tokenizer).Start();
        var row = new float[151936];
        warm.ApplyMask(row);
        IndexBuildMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return
        [
            Measure("json_object", Grammar.JsonObject(), JsonDocumentText.Trim(), tokenizer, repeats),
            Measure("json_schema", Grammar.JsonSchema(JsonDocument.Parse(SchemaText).RootElement), SchemaDocumentText.Trim(), tokenizer, repeats),
        ];
    }

    /// <summary>Decode rate at batch 1 without and with a json_object constraint (greedy on the package's weights).</summary>
    public async Task<(SingleStreamResult Free, SingleStreamResult Constrained)> MeasureDecodeAsync(int promptTokens, int decodeTokens, int repeats, CancellationToken cancellationToken)
    {
        var engine = new EngineBenchmarks(package, threads, provider);
        var tokenizer = QwenTokenizer.Load(ModelPackage.Open(package, PackageVerification.SizesOnly).TokenizerPath);
        var free = await engine.SingleAsync(promptTokens, decodeTokens, repeats, cancellationToken);
        var constrained = await engine.SingleAsync(promptTokens, decodeTokens, repeats, cancellationToken, TokenConstraint.Create(Grammar.JsonObject(), tokenizer));
        return (free, constrained);
    }

    private static MaskCostResult Measure(string name, Grammar grammar, string document, QwenTokenizer tokenizer, int repeats)
    {
        var constraint = TokenConstraint.Create(grammar, tokenizer);
        var tokens = tokenizer.Encode(document);
        var random = new Random(7);
        var row = new float[151936];
        var times = new List<double>();
        var nodes = 0L;
        for (var r = 0; r <= repeats; r++)
        {
            var cursor = constraint.Start();
            foreach (var token in tokens)
            {
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = (float)random.NextDouble();
                }
                var started = Stopwatch.GetTimestamp();
                cursor.ApplyMask(row);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (float.IsNegativeInfinity(row[token]))
                {
                    throw new InvalidOperationException($"{name}: the mask refused token {token} of the document; the grammar and the document disagree.");
                }
                cursor.Advance(token);
                if (r > 0)
                {
                    times.Add(elapsed); // round 0 warms up
                    nodes += cursor.LastNodesVisited;
                }
            }
        }
        times.Sort();
        return new MaskCostResult
        {
            Grammar = name,
            Tokens = tokens.Count,
            MedianMs = times[times.Count / 2],
            P90Ms = times[times.Count * 9 / 10],
            MaxMs = times[^1],
            MeanMs = times.Average(),
            MeanNodesVisited = (double)nodes / times.Count,
        };
    }

    /// <summary>The figures as Markdown: mask cost per token next to the decode step.</summary>
    public static string ToMarkdown(string package, double indexBuildMs, IReadOnlyList<MaskCostResult> masks, SingleStreamResult free, SingleStreamResult constrained)
    {
        var c = CultureInfo.InvariantCulture;
        var step = 1000 / free.DecodeTokensPerSecond;
        var md = new StringBuilder();
        md.Append("# Constrained decoding: mask cost per token\n\n");
        md.Append(c, $"Package `{Path.GetFileName(package)}`; decode step at batch 1 (free text): **{step:F1} ms** ({free.DecodeTokensPerSecond:F2} tokens/s); ");
        md.Append(c, $"with a json_object constraint: {1000 / constrained.DecodeTokensPerSecond:F1} ms ({constrained.DecodeTokensPerSecond:F2} tokens/s). ");
        md.Append(c, $"Vocabulary index built once in {indexBuildMs:F0} ms.\n\n");
        md.Append("| grammar | tokens | median ms | p90 ms | max ms | mean ms | mean trie nodes | median / step |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var m in masks)
        {
            md.Append(c, $"| {m.Grammar} | {m.Tokens} | {m.MedianMs:F3} | {m.P90Ms:F3} | {m.MaxMs:F3} | {m.MeanMs:F3} | {m.MeanNodesVisited:F0} | {m.MedianMs / step:P1} |\n");
        }
        md.Append(c, $"\nTarget: under 10% of a decode step ({step * 0.1:F1} ms).\n");
        return md.ToString();
    }
}
