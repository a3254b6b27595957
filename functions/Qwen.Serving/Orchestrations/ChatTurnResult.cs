namespace Qwen.Serving.Orchestrations;

/// <summary>What the model wrote for one turn.</summary>
/// <param name="Text">Generated text without stop tokens or stop strings.</param>
/// <param name="FinishReason"><c>stop</c> or <c>length</c>.</param>
/// <param name="PromptTokens">Prompt length in tokens.</param>
/// <param name="CompletionTokens">Generated tokens.</param>
public sealed record ChatTurnResult(string Text, string FinishReason, int PromptTokens, int CompletionTokens);
