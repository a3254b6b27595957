using Qwen.Inference.Runtime;

namespace Qwen.Inference.Tests.Runtime;

public class OnnxSessionFactoryTests
{
    [Fact]
    public void AvailableProviders_CpuBuild_ListsTheCpuProvider()
    {
        Assert.Contains("CPUExecutionProvider", OnnxSessionFactory.AvailableProviders());
    }

    [Fact]
    public void CreateSessionOptions_CudaInCpuBuild_FailsNamingThePackageAndLibraries()
    {
        var ex = Assert.Throws<QwenEngineException>(() =>
            OnnxSessionFactory.CreateSessionOptions(new ModelRuntimeOptions { ExecutionProvider = ExecutionProvider.Cuda }));
        Assert.StartsWith("CUDA execution provider is not available in this build of ONNX Runtime", ex.Message);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", ex.Message);
        Assert.Contains("-p:QwenOrtBuild=cuda", ex.Message);
        Assert.Contains("CUDA 12/cuDNN 9", ex.Message);
        Assert.Equal("select the execution provider", ex.Operation);
    }

    [Fact]
    public void CreateSessionOptions_DirectMLOnLinux_FailsNamingWindowsAndThePackage()
    {
        var ex = Assert.Throws<QwenEngineException>(() =>
            OnnxSessionFactory.CreateSessionOptions(new ModelRuntimeOptions { ExecutionProvider = ExecutionProvider.DirectML }));
        Assert.StartsWith("DirectML execution provider is not available in this build of ONNX Runtime", ex.Message);
        Assert.Contains("Microsoft.ML.OnnxRuntime.DirectML", ex.Message);
    }

    [Fact]
    public void EnsureAvailable_ProviderListed_Passes()
    {
        OnnxSessionFactory.EnsureAvailable(ExecutionProvider.Cuda, ["CUDAExecutionProvider", "CPUExecutionProvider"]);
    }

    [Fact]
    public void CreateSessionOptions_Cpu_SetsIntraOpThreads()
    {
        using var options = OnnxSessionFactory.CreateSessionOptions(new ModelRuntimeOptions { IntraOpThreads = 2 });
        Assert.Equal(2, options.IntraOpNumThreads);
    }
}
