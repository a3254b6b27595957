using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Qwen.Inference.Packaging;

namespace Qwen.Inference.Runtime;

/// <summary>Creates ONNX Runtime sessions for model packages on the configured execution provider, and checks the graph against the manifest's I/O contract.</summary>
/// <remarks>Stateless and thread-safe. Every native call goes through <see cref="OrtGuard"/>.</remarks>
public static class OnnxSessionFactory
{
    private const string CpuProviderName = "CPUExecutionProvider";
    private const string CudaProviderName = "CUDAExecutionProvider";
    private const string DirectMLProviderName = "DmlExecutionProvider";

    /// <summary>The execution providers compiled into the loaded ONNX Runtime native library.</summary>
    public static IReadOnlyList<string> AvailableProviders() =>
        OrtGuard.Invoke("list the available execution providers", () => OrtEnv.Instance().GetAvailableProviders());

    /// <summary>Fails with a message naming what is missing when <paramref name="provider"/> is not in this build.</summary>
    /// <exception cref="QwenEngineException">The provider is not available.</exception>
    public static void EnsureAvailable(ExecutionProvider provider) => EnsureAvailable(provider, AvailableProviders());

    /// <summary>As <see cref="EnsureAvailable(ExecutionProvider)"/>, against a given provider list (testable without a GPU build).</summary>
    /// <exception cref="QwenEngineException">The provider is not in <paramref name="available"/>.</exception>
    public static void EnsureAvailable(ExecutionProvider provider, IReadOnlyList<string> available)
    {
        var (name, remedy) = provider switch
        {
            ExecutionProvider.Cpu => (CpuProviderName, "this ONNX Runtime build is broken; reference Microsoft.ML.OnnxRuntime"),
            ExecutionProvider.Cuda => (CudaProviderName, "reference Microsoft.ML.OnnxRuntime.Gpu.Linux (build with -p:QwenOrtBuild=cuda) and install CUDA 12/cuDNN 9"),
            ExecutionProvider.DirectML => (DirectMLProviderName, "DirectML runs on Windows only; reference Microsoft.ML.OnnxRuntime.DirectML in a Windows build"),
            _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown execution provider; use cpu, cuda or directml."),
        };
        if (!available.Contains(name, StringComparer.Ordinal))
        {
            throw new QwenEngineException("select the execution provider",
                $"{DisplayName(provider)} execution provider is not available in this build of ONNX Runtime (it has: {string.Join(", ", available)}); {remedy}.");
        }
    }

    /// <summary>Session options for <paramref name="options"/>: provider appended, threads, full graph optimization.</summary>
    /// <exception cref="QwenEngineException">The provider is missing or could not start (for example, CUDA libraries not installed).</exception>
    public static SessionOptions CreateSessionOptions(ModelRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        EnsureAvailable(options.ExecutionProvider);
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        try
        {
            if (options.IntraOpThreads is { } threads)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads, nameof(options.IntraOpThreads));
                sessionOptions.IntraOpNumThreads = threads;
            }
            if (options.ProfilePathPrefix is { } profile)
            {
                // The prefix must be set first: enabling profiling passes the prefix current at that moment to the native side.
                sessionOptions.ProfileOutputPathPrefix = profile;
                sessionOptions.EnableProfiling = true;
            }
            switch (options.ExecutionProvider)
            {
                case ExecutionProvider.Cuda:
                    OrtGuard.Invoke("start the CUDA execution provider (install CUDA 12 and cuDNN 9 and put them on the library path)",
                        () => sessionOptions.AppendExecutionProvider_CUDA(options.DeviceId));
                    break;
                case ExecutionProvider.DirectML:
                    OrtGuard.Invoke("start the DirectML execution provider",
                        () => sessionOptions.AppendExecutionProvider_DML(options.DeviceId));
                    break;
            }
            return sessionOptions;
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }
    }

    /// <summary>Creates the session for <paramref name="package"/> and checks its inputs and outputs against the manifest.</summary>
    /// <exception cref="QwenEngineException">The provider is missing, the graph does not load, or its I/O differs from the contract.</exception>
    public static InferenceSession CreateSession(ModelPackage package, ModelRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(package);
        using var sessionOptions = CreateSessionOptions(options);
        var session = OrtGuard.Invoke($"load {package.ModelPath}", () => new InferenceSession(package.ModelPath, sessionOptions));
        try
        {
            ValidateGraph(session, package.Manifest);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Checks that the graph has every input and output the manifest names (docs/package-format.md).</summary>
    /// <exception cref="QwenEngineException">A name is missing or the KV element type differs from <see cref="GraphIo.KvDtype"/>.</exception>
    public static void ValidateGraph(InferenceSession session, ModelManifest manifest)
    {
        var io = manifest.Io;
        var inputs = new List<string> { io.InputIds, io.RopeCos, io.RopeSin, io.LognScale, io.SeqLensK, io.TotalSequenceLength, io.LogitsIndices };
        var outputs = new List<string> { io.Logits };
        for (var layer = 0; layer < manifest.Architecture.NumLayers; layer++)
        {
            inputs.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, io.PastKey, layer));
            inputs.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, io.PastValue, layer));
            outputs.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, io.PresentKey, layer));
            outputs.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, io.PresentValue, layer));
        }
        var missing = inputs.Where(n => !session.InputMetadata.ContainsKey(n))
            .Concat(outputs.Where(n => !session.OutputMetadata.ContainsKey(n)))
            .ToList();
        if (missing.Count > 0)
        {
            throw new QwenEngineException("check the graph against the manifest",
                $"The graph lacks {string.Join(", ", missing)} named by the manifest ({missing.Count} of {inputs.Count + outputs.Count}); the package was built for another contract. Rebuild it with model-prep convert.");
        }
        var kvType = KvElementType(io);
        var pastKey = string.Format(System.Globalization.CultureInfo.InvariantCulture, io.PastKey, 0);
        var actual = session.InputMetadata[pastKey].ElementDataType;
        if (actual != kvType)
        {
            throw new QwenEngineException("check the graph against the manifest",
                $"{pastKey} is {actual} in the graph but the manifest's KvDtype is '{io.KvDtype}'; the package is inconsistent. Rebuild it.");
        }
    }

    /// <summary>The ONNX element type of the KV cache named by <see cref="GraphIo.KvDtype"/>.</summary>
    /// <exception cref="QwenEngineException">The dtype is neither float32 nor float16.</exception>
    public static TensorElementType KvElementType(GraphIo io) => io.KvDtype switch
    {
        "float32" => TensorElementType.Float,
        "float16" => TensorElementType.Float16,
        _ => throw new QwenEngineException("check the graph against the manifest", $"KvDtype '{io.KvDtype}' is not supported; expected float32 or float16."),
    };

    /// <summary>The allocator for buffers that live where the provider computes (device memory for CUDA/DirectML, else CPU).</summary>
    /// <remarks>Dispose the returned allocator only if it is not <see cref="OrtAllocator.DefaultInstance"/>.</remarks>
    public static OrtAllocator CreateDeviceAllocator(InferenceSession session, ModelRuntimeOptions options)
    {
        if (options.ExecutionProvider == ExecutionProvider.Cpu)
        {
            return OrtAllocator.DefaultInstance;
        }
        var name = options.ExecutionProvider == ExecutionProvider.Cuda ? "Cuda" : "DML";
        return OrtGuard.Invoke($"create the {DisplayName(options.ExecutionProvider)} device allocator", () =>
        {
            using var memoryInfo = new OrtMemoryInfo(name, OrtAllocatorType.DeviceAllocator, options.DeviceId, OrtMemType.Default);
            return new OrtAllocator(session, memoryInfo);
        });
    }

    private static string DisplayName(ExecutionProvider provider) => provider switch
    {
        ExecutionProvider.Cuda => "CUDA",
        ExecutionProvider.DirectML => "DirectML",
        _ => "CPU",
    };
}
