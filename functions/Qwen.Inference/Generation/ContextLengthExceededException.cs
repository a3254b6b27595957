namespace Qwen.Inference.Generation;

/// <summary>The prompt does not fit the model's context; carries both numbers.</summary>
public sealed class ContextLengthExceededException(int promptTokens, int contextLength)
    : InvalidOperationException($"The prompt has {promptTokens:N0} tokens; the context holds {contextLength:N0} (prompt plus at least one generated token). Shorten the prompt or the history.")
{
    public int PromptTokens { get; } = promptTokens;
    public int ContextLength { get; } = contextLength;
}
