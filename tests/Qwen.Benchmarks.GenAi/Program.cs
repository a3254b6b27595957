using Qwen.Benchmarks.GenAi;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("qwen-bench-genai").UseStrictParsing();
    config.AddCommand<BenchCommand>("bench").WithDescription("Prefill, time to first token and batch-1 decode of one request.");
    config.AddCommand<GreedyCommand>("greedy").WithDescription("Greedy generation from a prompt (graph checks).");
});
return await app.RunAsync(args);
