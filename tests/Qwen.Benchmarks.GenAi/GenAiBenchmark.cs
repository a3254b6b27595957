using System.Diagnostics;
using Microsoft.ML.OnnxRuntimeGenAI;
using Qwen.Benchmarks;

namespace Qwen.Benchmarks.GenAi;

/// <summary>ONNX Runtime GenAI on the package's genai/ graph: the same weights, one request at a time.</summary>
public static class GenAiBenchmark
{
    /// <summary>The GenAI package version this process runs.</summary>
    /// <remarks>Read from this app's deps.json: the managed assembly itself carries version 0.0.0.</remarks>
    public static string Version { get; } = ReadPackageVersion();

    private static string ReadPackageVersion()
    {
        const string prefix = "Microsoft.ML.OnnxRuntimeGenAI.Managed/";
        var deps = Path.Combine(AppContext.BaseDirectory, "Qwen.Benchmarks.GenAi.deps.json");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(deps));
        var library = doc.RootElement.GetProperty("libraries").EnumerateObject().FirstOrDefault(l => l.Name.StartsWith(prefix, StringComparison.Ordinal));
        return library.Value.ValueKind == System.Text.Json.JsonValueKind.Undefined ? "unknown" : library.Name[prefix.Length..];
    }

    /// <summary>Prefill of <paramref name="promptTokens"/>, time to first token, and decode of <paramref name="decodeTokens"/>, best of <paramref name="repeats"/>.</summary>
    public static SingleStreamResult Single(string genaiDirectory, int promptTokens, int decodeTokens, int repeats)
    {
        if (!File.Exists(Path.Combine(genaiDirectory, "genai_config.json")))
        {
            throw new FileNotFoundException($"{genaiDirectory}/genai_config.json is missing; convert the package with --genai.");
        }
        using var model = new Model(genaiDirectory);
        var best = new SingleStreamResult { PromptTokens = promptTokens, DecodeTokens = decodeTokens };
        for (var r = 0; r <= repeats; r++)
        {
            var prompt = Prompts.Random(promptTokens, seed: 100 + r);
            using var parameters = new GeneratorParams(model);
            parameters.SetSearchOption("max_length", promptTokens + decodeTokens);
            parameters.SetSearchOption("min_length", promptTokens + decodeTokens);
            parameters.SetSearchOption("do_sample", false);
            using var generator = new Generator(model, parameters);
            var started = Stopwatch.GetTimestamp();
            generator.AppendTokens(prompt);
            var prefilled = Stopwatch.GetTimestamp();
            // AppendTokens runs the prompt; the first token is picked from its logits, and every later one costs a decode run.
            generator.GenerateNextToken();
            var first = Stopwatch.GetTimestamp();
            var count = 1;
            while (!generator.IsDone() && count < decodeTokens)
            {
                generator.GenerateNextToken();
                count++;
            }
            var end = Stopwatch.GetTimestamp();
            if (r == 0)
            {
                continue; // warm-up
            }
            var prefill = promptTokens / Stopwatch.GetElapsedTime(started, prefilled).TotalSeconds;
            var ttft = Stopwatch.GetElapsedTime(started, first).TotalMilliseconds;
            var decode = (count - 1) / Stopwatch.GetElapsedTime(first, end).TotalSeconds;
            best = best with
            {
                PrefillTokensPerSecond = Math.Max(best.PrefillTokensPerSecond, prefill),
                DecodeTokensPerSecond = Math.Max(best.DecodeTokensPerSecond, decode),
                TimeToFirstTokenMs = best.TimeToFirstTokenMs == 0 ? ttft : Math.Min(best.TimeToFirstTokenMs, ttft),
            };
        }
        return best;
    }
}
