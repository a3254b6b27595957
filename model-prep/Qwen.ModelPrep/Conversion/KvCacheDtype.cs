namespace Qwen.ModelPrep.Conversion;

/// <summary>Element type of a package's KV cache (<c>--kv-dtype</c>); the manifest's <c>io.kvDtype</c> says which.</summary>
public enum KvCacheDtype
{
    /// <summary>float32: the CPU default for fp32 and int4 weights.</summary>
    Fp32,

    /// <summary>
    /// float16: always with fp16 activations; with fp32 activations (CPU fp32/int4) only attention runs in fp16 — the packed
    /// QKV is cast to float16 before GroupQueryAttention and its output back to float32 — halving the cache's bytes.
    /// </summary>
    Fp16,
}
