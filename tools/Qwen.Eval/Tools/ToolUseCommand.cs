using System.ClientModel;
using System.ComponentModel;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using Qwen.Eval.Endpoints;
using Qwen.Inference.Tokenization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Qwen.Eval.Tools;

/// <summary><c>qwen-eval tools</c>: the seed's ReAct tool-use metrics against one OpenAI-compatible chat endpoint.</summary>
public sealed class ToolUseCommand : AsyncCommand<ToolUseCommand.Settings>
{
    /// <summary>Command-line settings.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-e|--endpoint <URL>")]
        [Description("Base URL of an OpenAI-compatible server (…/v1).")]
        public string Endpoint { get; init; } = "http://127.0.0.1:8080/v1";

        [CommandOption("-d|--data <FILE>")]
        [Description("JSON Lines jobs: {\"prompt\": ReAct query, \"response\": golden Thought/Action/Action Input (omit for no-tool jobs), \"lang\"?, \"id\"?}.")]
        public string Data { get; init; } = "";

        [CommandOption("-t|--tokenizer <FILE>")]
        [Description("qwen.tiktoken (Rouge-L is over Qwen tokens).")]
        public string Tokenizer { get; init; } = "artifacts/tokenizer/qwen.tiktoken";

        [CommandOption("-o|--out <DIR>")]
        [Description("Where tools.json and tools.md go.")]
        public string Output { get; init; } = "artifacts/eval";

        [CommandOption("--api-key <KEY>")]
        [Description("Bearer key (default: OPENAI_API_KEY).")]
        public string? ApiKey { get; init; }

        [CommandOption("--model <ID>")]
        [Description("Model id (default: the first of /v1/models).")]
        public string? Model { get; init; }

        [CommandOption("--max-tokens <N>")]
        public int MaxTokens { get; init; } = 512;

        /// <inheritdoc />
        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Data) ? ValidationResult.Error("--data is required (a JSON Lines file of jobs).") : ValidationResult.Success();
    }

    /// <inheritdoc />
    protected override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        foreach (var file in new[] { settings.Data, settings.Tokenizer })
        {
            if (!File.Exists(file))
            {
                AnsiConsole.MarkupLineInterpolated($"[red]{file} does not exist.[/]");
                return 2;
            }
        }
        var jobs = await ToolUseJob.ReadAsync(settings.Data, cancellationToken);
        var tokenizer = QwenTokenizer.Load(settings.Tokenizer);
        var endpoint = EndpointSpec.Parse(settings.Endpoint);
        var chat = await CreateChatAsync(endpoint.BaseUri, settings.ApiKey ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY"), settings.Model, settings.MaxTokens, cancellationToken);

        ToolUseMetrics metrics = null!;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Markup.Escape($"{jobs.Count} jobs on {endpoint.BaseUri}"), maxValue: jobs.Count);
                metrics = await ToolUseEvaluator.RunAsync(tokenizer, jobs, chat, () => task.Increment(1), cancellationToken);
            });

        Directory.CreateDirectory(settings.Output);
        await File.WriteAllTextAsync(Path.Combine(settings.Output, "tools.json"), metrics.ToJson(), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(settings.Output, "tools.md"), metrics.ToMarkdown(), cancellationToken);
        AnsiConsole.WriteLine(metrics.ToMarkdown());
        AnsiConsole.MarkupLineInterpolated($"Wrote tools.json and tools.md to {Path.GetFullPath(settings.Output)}");
        return 0;
    }

    /// <summary>
    /// A greedy chat call through the official OpenAI client: the prompt as the only user message, the reply's text back.
    /// </summary>
    public static async Task<Func<string, CancellationToken, Task<string>>> CreateChatAsync(Uri baseUri, string? apiKey, string? model, int maxTokens,
        CancellationToken cancellationToken = default)
    {
        var options = new OpenAIClientOptions { Endpoint = baseUri };
        // Servers that need no key still get a (dummy) bearer: the client requires a credential.
        var credential = new ApiKeyCredential(string.IsNullOrEmpty(apiKey) ? "no-key" : apiKey);
        if (model is null)
        {
            var models = await new OpenAIModelClient(credential, options).GetModelsAsync(cancellationToken);
            model = models.Value.FirstOrDefault()?.Id ?? throw new InvalidOperationException($"{baseUri}models lists no model; pass --model.");
        }
        var client = new ChatClient(model, credential, options);
        var completion = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = maxTokens };
        return async (prompt, ct) =>
        {
            var result = await client.CompleteChatAsync(new ChatMessage[] { new UserChatMessage(prompt) }, completion, ct).ConfigureAwait(false);
            return string.Concat(result.Value.Content.Select(part => part.Text));
        };
    }
}
