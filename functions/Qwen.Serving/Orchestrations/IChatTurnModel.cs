namespace Qwen.Serving.Orchestrations;

/// <summary>Generates one ChatML turn. Local: the engine (<see cref="EngineChatTurnModel"/>); API app: the GPU worker over HTTP (<see cref="HttpChatTurnModel"/>).</summary>
/// <remarks>Implementations are thread-safe.</remarks>
public interface IChatTurnModel
{
    /// <summary>Runs the turn and returns the whole answer.</summary>
    Task<ChatTurnResult> GenerateAsync(ChatTurnRequest request, CancellationToken cancellationToken = default);
}
