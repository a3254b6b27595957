using Qwen.Inference.Runtime;

namespace Qwen.Testing;

/// <summary>The execution provider the provider-aware tests run on: <c>QWEN_TEST_EXECUTION_PROVIDER</c> (cpu or cuda), CPU when unset.</summary>
/// <remarks>CI runs them on CPU; eng/gpu-check.sh sets cuda on a GPU machine (a CUDA build of the tests, -p:QwenOrtBuild=cuda).</remarks>
public static class TestExecutionProvider
{
    /// <summary>Name of the environment variable.</summary>
    public const string Variable = "QWEN_TEST_EXECUTION_PROVIDER";

    /// <summary>The provider asked for.</summary>
    /// <exception cref="InvalidOperationException">The variable names another provider.</exception>
    public static ExecutionProvider Current => Environment.GetEnvironmentVariable(Variable)?.Trim().ToLowerInvariant() switch
    {
        null or "" or "cpu" => ExecutionProvider.Cpu,
        "cuda" => ExecutionProvider.Cuda,
        var other => throw new InvalidOperationException($"{Variable}={other} is not cpu or cuda."),
    };
}
