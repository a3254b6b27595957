using Qwen.Serving.Orchestrations;

namespace Qwen.Serving.Tests.Batch;

/// <summary>Answers "echo: &lt;last user message&gt;"; throws for the message "boom"; counts calls.</summary>
public sealed class EchoChatTurnModel : IChatTurnModel
{
    private int _calls;
    public int Calls => Volatile.Read(ref _calls);

    public Task<ChatTurnResult> GenerateAsync(ChatTurnRequest request, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        var last = request.Messages[^1].Content;
        if (last == "boom")
        {
            throw new InvalidOperationException("The engine failed on purpose.");
        }
        var text = "echo: " + last;
        return Task.FromResult(new ChatTurnResult(text, "stop", 5 * request.Messages.Count, text.Length));
    }
}
