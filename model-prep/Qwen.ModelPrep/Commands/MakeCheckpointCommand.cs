using Spectre.Console.Cli;

namespace Qwen.ModelPrep.Commands;

// PLACEHOLDER until its owner lands the real command.
/// <summary>The <c>make-checkpoint</c> command.</summary>
public sealed class MakeCheckpointCommand : AsyncCommand<MakeCheckpointCommand.Settings>
{
    public sealed class Settings : CommandSettings { }

    protected override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
        => throw new ModelPrepException("not implemented yet");
}
