using Qwen.Eval.Perplexity;
using Qwen.Eval.Tools;
using Spectre.Console.Cli;

namespace Qwen.Eval;

/// <summary>The qwen-eval command line (perplexity, tools), built here so tests run exactly what Program.cs runs.</summary>
public static class EvalApp
{
    /// <summary>Creates the command app; <paramref name="propagateExceptions"/> lets tests see failures as exceptions.</summary>
    public static CommandApp Create(bool propagateExceptions = false)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("qwen-eval");
            // Strict: an unknown option is an error naming it, never silently ignored.
            config.UseStrictParsing();
            if (propagateExceptions)
            {
                config.PropagateExceptions();
            }
            config.AddCommand<PerplexityCommand>("perplexity")
                .WithDescription("Perplexity by context length from prompt log-probabilities (/v1/completions, echo + logprobs, max_tokens 0).");
            config.AddCommand<ToolUseCommand>("tools")
                .WithDescription("ReAct tool-use metrics (tool selection, Rouge-L of Action Input, false positives) over /v1/chat/completions.");
        });
        return app;
    }
}
