namespace Qwen.ModelPrep.Conversion;

/// <summary>The execution provider a package is built for: it decides the activation and KV cache precision.</summary>
public enum ModelTarget
{
    /// <summary>CPU (default): fp32 activations and KV cache for fp32 and int4 weights, fp16 for fp16 weights.</summary>
    Cpu,

    /// <summary>
    /// CUDA (and DirectML): fp16 activations and KV cache for fp16 and int4 weights, because ONNX Runtime registers its CUDA
    /// GroupQueryAttention for fp16/bf16 only; logits are cast to fp32. fp32 weights are refused.
    /// </summary>
    Cuda,
}
