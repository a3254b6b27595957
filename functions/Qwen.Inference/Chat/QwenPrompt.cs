namespace Qwen.Inference.Chat;

/// <summary>The Qwen prompt for an OpenAI-style request, ready for generation.</summary>
/// <param name="PromptTokens">The ids to prefill.</param>
/// <param name="RawText">The same prompt as text (for logs).</param>
/// <param name="StopStrings">Text stops: user stops, their copies without leading <c>\n</c>, then <c>Observation:</c>
/// when tools are present. Cut the output at the first occurrence of each, in order (<see cref="QwenPromptFormatter.TrimAtStopStrings"/>).</param>
/// <param name="IsCompletionMode">The conversation ended with an assistant or tool turn: the prompt continues that
/// assistant turn (no final <c>&lt;|im_end|&gt;</c>).</param>
/// <param name="HasTools">Tools were offered: parse the output with <see cref="ReActParser.ParseOpenAiResponse(string)"/>.</param>
public sealed record QwenPrompt(
    IReadOnlyList<int> PromptTokens,
    string RawText,
    IReadOnlyList<string> StopStrings,
    bool IsCompletionMode,
    bool HasTools)
{
    /// <summary>Token ids that end generation: <c>&lt;|im_end|&gt;</c>, <c>&lt;|im_start|&gt;</c>, <c>&lt;|endoftext|&gt;</c>.</summary>
    public static IReadOnlyList<int> StopTokenIds { get; } = [Tokenization.QwenTokenizer.ImEndId, Tokenization.QwenTokenizer.ImStartId, Tokenization.QwenTokenizer.EndOfTextId];
}
