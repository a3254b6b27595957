using System.Collections.Concurrent;
using Qwen.Serving.Orchestrations;

namespace Qwen.Serving.Tests.Batch;

/// <summary>Answers "echo: &lt;last user message&gt;" after <see cref="Delay"/>; throws for the message "boom"; counts calls and records each finished answer.</summary>
public sealed class EchoChatTurnModel : IChatTurnModel
{
    private int _calls;

    /// <summary>Generations started.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>The last user message of every generation that finished (a cancelled one is not here).</summary>
    public ConcurrentQueue<string> Completed { get; } = new();

    /// <summary>Time each generation takes (cancellable).</summary>
    public TimeSpan Delay { get; set; }

    public async Task<ChatTurnResult> GenerateAsync(ChatTurnRequest request, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        var last = request.Messages[^1].Content;
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken);
        }
        if (last == "boom")
        {
            throw new InvalidOperationException("The engine failed on purpose.");
        }
        Completed.Enqueue(last);
        var text = "echo: " + last;
        return new ChatTurnResult(text, "stop", 5 * request.Messages.Count, text.Length);
    }
}
