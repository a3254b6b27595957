using Microsoft.DurableTask;

namespace Qwen.Serving.Orchestrations;

/// <summary>Activity: runs one chat turn on <see cref="IChatTurnModel"/> (the engine locally, the GPU worker remotely).</summary>
public sealed class GenerateTurnActivity(IChatTurnModel model) : TaskActivity<ChatTurnRequest, ChatTurnResult>
{
    /// <inheritdoc />
    public override Task<ChatTurnResult> RunAsync(TaskActivityContext context, ChatTurnRequest input) => ExecuteAsync(input, CancellationToken.None);

    /// <summary>The activity body, callable by host adapters that have their own context type.</summary>
    public Task<ChatTurnResult> ExecuteAsync(ChatTurnRequest input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        return model.GenerateAsync(input, cancellationToken);
    }
}
