namespace Qwen.Inference.Runtime;

/// <summary>A failure of the inference runtime (package check, session creation, execution provider, a graph run), naming the operation that failed.</summary>
public sealed class QwenEngineException : Exception
{
    /// <summary>Creates the exception for <paramref name="operation"/>.</summary>
    public QwenEngineException(string operation, string message, Exception? inner = null)
        : base(message, inner)
    {
        Operation = operation;
    }

    /// <summary>What the engine was doing, for example <c>load package</c> or <c>run decode step</c>.</summary>
    public string Operation { get; }
}
