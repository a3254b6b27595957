namespace Qwen.ModelPrep.Checkpoints;

/// <summary>The safetensors dtype names this project reads and writes, and their sizes.</summary>
public static class SafetensorsDtype
{
    public const string BF16 = "BF16";
    public const string F16 = "F16";
    public const string F32 = "F32";

    /// <summary>True for the dtypes that convert to float32 (<c>BF16</c>, <c>F16</c>, <c>F32</c>).</summary>
    public static bool IsFloat(string dtype) => dtype is BF16 or F16 or F32;

    /// <summary>Bytes per element of any safetensors dtype, or null when the name is unknown.</summary>
    public static int? ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "BF16" or "F16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => null,
    };

    /// <summary>Normalizes a user-facing name (<c>bf16</c>, <c>fp16</c>, <c>float32</c>…) to a safetensors dtype.</summary>
    /// <exception cref="ModelPrepException">The name is not a float dtype.</exception>
    public static string Parse(string name) => name.ToLowerInvariant() switch
    {
        "bf16" or "bfloat16" => BF16,
        "f16" or "fp16" or "float16" or "half" => F16,
        "f32" or "fp32" or "float32" or "float" => F32,
        _ => throw new ModelPrepException($"dtype '{name}' is not supported; use bf16, fp16 or fp32"),
    };
}
