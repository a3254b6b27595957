namespace Qwen.Inference.Runtime;

/// <summary>How the engine opens a package and creates its ONNX Runtime session.</summary>
public sealed record ModelRuntimeOptions
{
    /// <summary>Execution provider; asking for one this build lacks fails at start-up.</summary>
    public ExecutionProvider ExecutionProvider { get; init; } = ExecutionProvider.Cpu;

    /// <summary>Threads for one operator on the CPU provider; null lets ONNX Runtime choose (one per physical core).</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>GPU index for CUDA/DirectML.</summary>
    public int DeviceId { get; init; }

    /// <summary>How the package's files are checked against the manifest.</summary>
    public PackageVerification Verification { get; init; } = PackageVerification.FirstLoad;

    /// <summary>A context shorter than the package's MaxContext (saves KV memory); null uses the package's.</summary>
    public int? ContextLength { get; init; }

    /// <summary>Dynamic NTK: null follows the package (config <c>use_dynamic_ntk</c>); false or true overrides it for every request (evaluation).</summary>
    public bool? DynamicNtk { get; init; }

    /// <summary>LogN attention scaling: null follows the package (config <c>use_logn_attn</c>); false or true overrides it for every request (evaluation).</summary>
    public bool? LognAttention { get; init; }

    /// <summary>Writes an ONNX Runtime profile (per-operator times, Chrome trace JSON) to files starting with this path; null profiles nothing.</summary>
    /// <remarks>For benchmarks only: profiling slows every run. The file is completed when the engine is disposed.</remarks>
    public string? ProfilePathPrefix { get; init; }
}
