using Spectre.Console.Cli;

namespace Qwen.ModelPrep.Commands;

// PLACEHOLDER until its owner lands the real command.
/// <summary>The <c>convert</c> command.</summary>
public sealed class ConvertCommand : AsyncCommand<ConvertCommand.Settings>
{
    public sealed class Settings : CommandSettings { }

    protected override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
        => throw new ModelPrepException("not implemented yet");
}
