namespace Qwen.ModelPrep.Conversion;

/// <summary>What <see cref="PackageConverter"/> converts and how.</summary>
public sealed record ConvertOptions
{
    /// <summary>The Hugging Face checkpoint directory (config.json, *.safetensors, qwen.tiktoken).</summary>
    public required string Input { get; init; }

    /// <summary>The package directory to create (replaced atomically when it already holds a package).</summary>
    public required string Output { get; init; }

    /// <summary>Weight precision.</summary>
    public ModelDtype Dtype { get; init; } = ModelDtype.Fp32;

    /// <summary>The execution provider the package is for; decides the activation and KV precision (<see cref="ModelTarget"/>).</summary>
    public ModelTarget Target { get; init; } = ModelTarget.Cpu;

    /// <summary>True when activations, norms, biases, scales and the KV cache are float16.</summary>
    public bool Fp16Activations => Dtype == ModelDtype.Fp16 || (Target == ModelTarget.Cuda && Dtype == ModelDtype.Int4);

    /// <summary>KV cache element type; null = float16 with <see cref="Fp16Activations"/>, else float32.</summary>
    /// <remarks>
    /// <see cref="KvCacheDtype.Fp16"/> with fp32 activations keeps every other op in fp32 and runs GroupQueryAttention in
    /// fp16 (cast in and out), halving the KV bytes read per decoded token and the memory per position. Not the CPU
    /// default: ONNX Runtime 1.31's CPU GroupQueryAttention converts the whole fp16 history to fp32 every step, so
    /// attention got 39–51% slower on the benchmark machine (docs/benchmarks); the option is for fitting twice the
    /// positions into a KV budget. <see cref="KvCacheDtype.Fp32"/> with fp16 activations is refused.
    /// </remarks>
    public KvCacheDtype? KvDtype { get; init; }

    /// <summary>The KV cache element type written into the graph and the manifest.</summary>
    public KvCacheDtype EffectiveKvDtype => KvDtype ?? (Fp16Activations ? KvCacheDtype.Fp16 : KvCacheDtype.Fp32);

    /// <summary>int4: inputs per quantization block (32, 64 or 128).</summary>
    /// <remarks>
    /// 128 by default: on the 2-core AVX-512 VNNI benchmark machine it prefills 1.3× and decodes 1.15–1.35× faster than 32
    /// (fewer float scale steps in MatMulNBits' int8 kernel, 3% fewer bytes per token) for 0.8 points of top-1 agreement
    /// and +0.14% perplexity on the trained model (docs/quality.md); Qwen's own int4 release uses groups of 128 too.
    /// </remarks>
    public int BlockSize { get; init; } = 128;

    /// <summary>int4: MatMulNBits accuracy_level (0–4; 4 = int8 activations, fastest on CPU); null = 4 for <see cref="ModelTarget.Cpu"/>, 0 for <see cref="ModelTarget.Cuda"/>.</summary>
    /// <remarks>The CPU kernel reads it; CUDA computes in fp16 regardless, so a CUDA package says 0 ("the input type") and, run on CPU for tests, computes like the GPU does.</remarks>
    public int? AccuracyLevel { get; init; }

    /// <summary>The accuracy_level written into the graph.</summary>
    public int EffectiveAccuracyLevel => AccuracyLevel ?? (Target == ModelTarget.Cuda ? 0 : 4);

    /// <summary>int4: per-block zero points instead of the implicit symmetric one.</summary>
    public bool Asymmetric { get; init; }

    /// <summary>int4: bits for lm_head (4, 8, or 16 = kept in float16).</summary>
    public int LmHeadBits { get; init; } = 8;

    /// <summary>Longest sequence served with the package; defaults to the checkpoint's.</summary>
    public int? MaxContext { get; init; }

    /// <summary>Model name in the manifest; defaults to the output directory's name.</summary>
    public string? Name { get; init; }

    /// <summary>Also write genai/ for ONNX Runtime GenAI (benchmarks).</summary>
    public bool GenAi { get; init; }

    /// <summary>Replace an existing output directory even when it is not a package.</summary>
    public bool Force { get; init; }
}
