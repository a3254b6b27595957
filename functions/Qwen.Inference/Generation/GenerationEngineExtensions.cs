using System.Text;

namespace Qwen.Inference.Generation;

/// <summary>Conveniences over <see cref="IGenerationEngine"/>.</summary>
public static class GenerationEngineExtensions
{
    /// <summary>Runs <paramref name="request"/> to the end and collects its text, tokens, finish reason and usage.</summary>
    /// <exception cref="ContextLengthExceededException">The prompt does not fit the context.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="InvalidOperationException">The engine's stream ended without a final update (an engine defect).</exception>
    public static async Task<GenerationResult> CompleteAsync(this IGenerationEngine engine, GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var text = new StringBuilder();
        var tokens = new List<GeneratedToken>();
        await foreach (var update in engine.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.TextDelta);
            tokens.AddRange(update.Tokens);
            if (update.FinishReason is { } reason)
            {
                var usage = update.Usage ?? throw new InvalidOperationException("The engine's final update carries a finish reason but no usage.");
                return new GenerationResult(text.ToString(), tokens, reason, usage);
            }
        }
        throw new InvalidOperationException("The engine's stream ended without a final update carrying the finish reason.");
    }
}
