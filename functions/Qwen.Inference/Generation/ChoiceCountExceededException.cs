namespace Qwen.Inference.Generation;

/// <summary>A multi-choice request (OpenAI <c>n</c>) asks for more choices than the engine has batch rows to decode them together; hosts answer 400 naming <c>n</c>.</summary>
/// <remarks>Thrown at admission, before any compute. Busy rows only make a group wait; this is about the rows that exist.</remarks>
public sealed class ChoiceCountExceededException(int choices, int rows)
    : InvalidOperationException($"n = {choices} asks for {choices} choices; this engine decodes at most {rows} together (one KV row each). Ask for n ≤ {rows}.")
{
    /// <summary>Choices asked for.</summary>
    public int Choices { get; } = choices;

    /// <summary>Batch rows of the engine: the most choices one request may have.</summary>
    public int Rows { get; } = rows;
}
