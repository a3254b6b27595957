using Qwen.Benchmarks;
using Spectre.Console.Cli;

var app = new CommandApp<BenchmarkCommand>();
app.Configure(config => config.SetApplicationName("qwen-bench").UseStrictParsing());
return await app.RunAsync(args);
