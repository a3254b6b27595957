namespace Qwen.Inference.Runtime;

/// <summary>Where ONNX Runtime runs the graph.</summary>
public enum ExecutionProvider
{
    /// <summary>The CPU provider (default; always available).</summary>
    Cpu,
    /// <summary>NVIDIA CUDA: needs the Microsoft.ML.OnnxRuntime.Gpu.Linux build (<c>-p:QwenOrtBuild=cuda</c>), CUDA 12 and cuDNN 9.</summary>
    Cuda,
    /// <summary>DirectML: Windows only, needs the Microsoft.ML.OnnxRuntime.DirectML build.</summary>
    DirectML,
}
