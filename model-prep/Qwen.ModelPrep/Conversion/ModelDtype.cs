namespace Qwen.ModelPrep.Conversion;

/// <summary>Weight precision of a converted package.</summary>
public enum ModelDtype
{
    /// <summary>float32 weights, activations and KV cache.</summary>
    Fp32,

    /// <summary>float16 weights, activations and KV cache; rotary/LogN inputs and logits stay float32.</summary>
    Fp16,

    /// <summary>4-bit block-quantized MatMulNBits weights; float32 activations and KV cache (float16 with <see cref="ModelTarget.Cuda"/>).</summary>
    Int4,
}
