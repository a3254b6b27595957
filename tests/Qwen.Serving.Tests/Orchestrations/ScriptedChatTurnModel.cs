using System.Collections.Concurrent;
using Qwen.Serving.Orchestrations;

namespace Qwen.Serving.Tests.Orchestrations;

/// <summary>A chat model whose answers are scripted (random test weights never write ReAct text); records every request.</summary>
public sealed class ScriptedChatTurnModel(params string[] answers) : IChatTurnModel
{
    private readonly ConcurrentQueue<string> _answers = new(answers);

    /// <summary>Requests seen, in order.</summary>
    public ConcurrentQueue<ChatTurnRequest> Requests { get; } = new();

    /// <summary>Answer used once the script runs out; null fails the turn instead.</summary>
    public string? Fallback { get; init; }

    public Task<ChatTurnResult> GenerateAsync(ChatTurnRequest request, CancellationToken cancellationToken = default)
    {
        Requests.Enqueue(request);
        var text = _answers.TryDequeue(out var next) ? next
            : Fallback ?? throw new InvalidOperationException($"The script has no answer for request {Requests.Count}.");
        return Task.FromResult(new ChatTurnResult(text, "stop", 10 * Requests.Count, text.Length));
    }
}
