namespace Qwen.Inference.Generation;

/// <summary>An update of one choice in a multi-choice generation (OpenAI <c>n</c>).</summary>
/// <param name="Index">The choice (0 … n−1), in the order the requests were given.</param>
/// <param name="Update">The choice's update; each choice ends with its own final update.</param>
public readonly record struct ChoiceUpdate(int Index, GenerationUpdate Update);
