using Microsoft.ML.OnnxRuntime;

namespace Qwen.Inference.Runtime;

/// <summary>
/// The one error funnel for ONNX Runtime calls: every native call that can fail goes through here, and any failure
/// comes out as a <see cref="QwenEngineException"/> naming the operation.
/// </summary>
/// <remarks>
/// A run stopped through <see cref="RunOptions.Terminate"/> surfaces as <see cref="OperationCanceledException"/> when
/// the given token asked for it, so callers see cancellation, not an engine fault.
/// </remarks>
public static class OrtGuard
{
    /// <summary>Runs <paramref name="call"/>; wraps ONNX Runtime failures.</summary>
    /// <exception cref="QwenEngineException">ONNX Runtime reported an error.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled and the run stopped.</exception>
    public static T Invoke<T>(string operation, Func<T> call, CancellationToken cancellationToken = default)
    {
        try
        {
            return call();
        }
        catch (Exception ex) when (IsRuntimeFailure(ex))
        {
            throw Translate(operation, ex, cancellationToken);
        }
    }

    /// <summary>Runs <paramref name="call"/>; wraps ONNX Runtime failures.</summary>
    /// <exception cref="QwenEngineException">ONNX Runtime reported an error.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled and the run stopped.</exception>
    public static void Invoke(string operation, Action call, CancellationToken cancellationToken = default)
    {
        try
        {
            call();
        }
        catch (Exception ex) when (IsRuntimeFailure(ex))
        {
            throw Translate(operation, ex, cancellationToken);
        }
    }

    private static bool IsRuntimeFailure(Exception ex) =>
        ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or TypeInitializationException;

    private static Exception Translate(string operation, Exception ex, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new OperationCanceledException($"Cancelled during '{operation}'.", ex, cancellationToken);
        }
        return new QwenEngineException(operation, $"ONNX Runtime failed to {operation}: {ex.Message}", ex);
    }
}
