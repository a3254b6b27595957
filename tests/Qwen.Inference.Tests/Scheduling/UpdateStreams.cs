using Qwen.Inference.Generation;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>Reads a generation stream to its end in tests.</summary>
internal static class UpdateStreams
{
    /// <summary>The ids of every token the stream produced, in order.</summary>
    public static async Task<int[]> TokenIdsAsync(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var tokens = new List<int>();
        await foreach (var update in updates)
        {
            tokens.AddRange(update.Tokens.Select(t => t.Id));
        }
        return [.. tokens];
    }
}
