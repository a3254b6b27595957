using Qwen.Eval.Tools;
using Qwen.Inference.Tokenization;
using Qwen.Testing;

namespace Qwen.Eval.Tests.Tools;

/// <summary><c>qwen-eval tools</c> against the standalone server over a scripted engine: metrics computed by hand.</summary>
[Collection(EvalConsole.Collection)]
public sealed class ToolUseEvaluatorTests
{
    private static readonly Lazy<QwenTokenizer> SharedTokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));
    private static QwenTokenizer Tokenizer => SharedTokenizer.Value;

    private static string Prompt(string question) =>
        "Answer the following questions as best you can. You have access to the following tools:\n\nweather: …\n\n" +
        "Use the following format:\n\n…\n\nBegin!\n\nQuestion: " + question;

    [Fact]
    public void RougeWords_JsonArguments_AreQwenTokensSplitOnWhitespace()
    {
        // The hand computation below rests on these token boundaries.
        Assert.Equal(["{\"", "city", "\":", "\"", "London", "\"}"], RougeL.Words(Tokenizer, "{\"city\": \"London\"}"));
        Assert.Equal(["{\"", "expression", "\":", "\"", "2", "+", "2", "\"}"], RougeL.Words(Tokenizer, "{\"expression\": \"2+2\"}"));
        Assert.Equal(["{\"", "query", "\":", "\"", "2", "+", "2", "\"}"], RougeL.Words(Tokenizer, "{\"query\": \"2+2\"}"));
    }

    [Fact]
    public void Parse_SeedSlicing_ActionAndSortedInput()
    {
        var parsed = ReActResponse.Parse("Thought: t\nAction: weather\nAction Input: {'unit': 'C', \"city\": \"北京\",}\nObservation: x");
        Assert.Equal("weather", parsed.Action);
        Assert.Equal("{\"city\": \"北京\", \"unit\": \"C\"}", parsed.ActionInput);
        var none = ReActResponse.Parse("Thought: I can answer directly.\nFinal Answer: 42");
        Assert.Equal("", none.ActionInput);
        Assert.Equal("abc", ReActResponse.Slice("abcd\n", 0, -2));
    }

    [Fact]
    public async Task Tools_ScriptedEngine_ReproducesHandComputedMetrics()
    {
        var replies = new Dictionary<string, string>
        {
            // P1: right tool, same arguments → selected, Rouge-L 1.
            ["q1"] = "Thought: look it up\nAction: weather\nAction Input: {\"city\": \"London\"}",
            // P2: tool name in another case, other city → selected, LCS 5 of 6 words → 5/6.
            ["q2"] = "Thought: look it up\nAction: Weather\nAction Input: {\"city\": \"Paris\"}\nObservation:",
            // P3: wrong tool → not selected; arguments share 7 of 8 words → 7/8.
            ["q3"] = "Thought: search\nAction: web_search\nAction Input: {\"query\": \"2+2\"}",
            // P4: no call → not selected, empty input → 0.
            ["q4"] = "Thought: I can answer directly.\nFinal Answer: a picture",
            // N1: no call. N2: a call where none is needed → false positive.
            ["n1"] = "Thought: I now know the final answer\nFinal Answer: hello",
            ["n2"] = "Thought: hmm\nAction: web_search\nAction Input: {\"query\": \"hi\"}",
        };
        ToolUseJob[] jobs =
        [
            new() { Id = "q1", Prompt = Prompt("q1"), Response = "Thought: t\nAction: weather\nAction Input: {\"city\": \"London\"}" },
            new() { Id = "q2", Prompt = Prompt("q2"), Response = "Thought: t\nAction: weather\nAction Input: {\"city\": \"London\"}" },
            new() { Id = "q3", Prompt = Prompt("q3"), Response = "Thought: t\nAction: calculator\nAction Input: {\"expression\": \"2+2\"}" },
            new() { Id = "q4", Prompt = Prompt("q4"), Response = "Thought: t\nAction: image_gen\nAction Input: {\"prompt\": \"a cat\"}" },
            new() { Id = "n1", Prompt = Prompt("n1") },
            new() { Id = "n2", Prompt = Prompt("n2") },
        ];
        await using var server = await EvalServer.StartAsync(new ScriptedChatEngine(Tokenizer, q => replies[q]));
        var chat = await ToolUseCommand.CreateChatAsync(server.BaseUri, null, null, 256);

        var metrics = await ToolUseEvaluator.RunAsync(Tokenizer, jobs, chat);

        Assert.Equal(4, metrics.Positives);
        Assert.Equal(2, metrics.Negatives);
        Assert.Equal(2.0 / 4, metrics.ToolSelection);
        Assert.Equal((1 + 5.0 / 6 + 7.0 / 8 + 0) / 4, metrics.ToolInputRougeL, 12);
        Assert.Equal(1.0 / 2, metrics.FalsePositiveRate);
        Assert.Equal([true, true, false, false], metrics.Jobs.Where(j => j.Positive).Select(j => j.ToolSelected));
    }

    [Fact]
    public async Task ToolsCommand_CommittedEvalSet_GoldenRepliesScorePerfectly()
    {
        var data = Path.Combine(RepoPaths.Root, "tools", "Qwen.Eval", "data", "react-tool-use.jsonl");
        var jobs = await ToolUseJob.ReadAsync(data);
        Assert.True(jobs.Count >= 50, $"{jobs.Count} jobs");
        Assert.Contains(jobs, j => j.Language == "zh" && j.IsPositive);
        Assert.Contains(jobs, j => j.Language == "en" && !j.IsPositive);
        // Every golden response has a tool and JSON arguments the evaluator can normalize.
        Assert.All(jobs.Where(j => j.IsPositive), j => Assert.NotEqual("", ReActResponse.Parse(j.Response!).ActionInput));
        var golden = jobs.ToDictionary(j => ScriptedChatEngine.Question(j.Prompt), j => j.Response ?? "Thought: I now know the final answer\nFinal Answer: ok");
        await using var server = await EvalServer.StartAsync(new ScriptedChatEngine(Tokenizer, q => golden[q]));
        var output = Path.Combine(Path.GetTempPath(), "qwen-eval-tools-" + Guid.NewGuid().ToString("N"));
        try
        {
            var exit = await EvalApp.Create(propagateExceptions: true).RunAsync(
                ["tools", "--endpoint", server.BaseUri.ToString(), "--data", data, "--tokenizer", RepoPaths.Tiktoken, "--out", output]);
            Assert.Equal(0, exit);
            var markdown = await File.ReadAllTextAsync(Path.Combine(output, "tools.md"));
            Assert.Contains($"| all | {jobs.Count(j => j.IsPositive)} | {jobs.Count(j => !j.IsPositive)} | 100.0% | 1.000 | 0.0% |", markdown, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }
}
