using System.Text.Json.Serialization;

namespace Qwen.Inference.Packaging;

/// <summary>The contents of <c>qwen-model.json</c>: everything the engine needs to know about a model package.</summary>
/// <remarks>
/// model-prep writes this file last, after every other file of the package is complete, so a package
/// without it (or whose file sizes/hashes disagree with it) is incomplete and must be refused.
/// </remarks>
public sealed record ModelManifest
{
    /// <summary>File name of the manifest inside a package directory.</summary>
    public const string FileName = "qwen-model.json";

    /// <summary>Current package format version; the loader refuses other versions.</summary>
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Model name served by the API (for example <c>qwen-7b-chat</c>).</summary>
    public required string Name { get; init; }

    public required ModelArchitecture Architecture { get; init; }

    /// <summary>Weight precision of the graph: <c>fp32</c>, <c>fp16</c> or <c>int4</c>.</summary>
    public required string Dtype { get; init; }

    /// <summary>Execution provider the graph was built for: <c>cpu</c> (fp32 activations for fp32/int4) or <c>cuda</c> (fp16 activations and KV cache).</summary>
    public string Target { get; init; } = "cpu";

    /// <summary>Present when <see cref="Dtype"/> is <c>int4</c>.</summary>
    public QuantizationInfo? Quantization { get; init; }

    public required TokenizerInfo Tokenizer { get; init; }

    public required GenerationDefaults Generation { get; init; }

    public required GraphIo Io { get; init; }

    /// <summary>Every file of the package except the manifest, with size and sha256, checked before use.</summary>
    public required IReadOnlyList<PackageFile> Files { get; init; }

    /// <summary>The HF checkpoint this package came from (informational).</summary>
    public string? Source { get; init; }
}

/// <summary>Architecture numbers read from the checkpoint's config.json (both v1.0 and v1.1 key styles).</summary>
public sealed record ModelArchitecture
{
    public required int HiddenSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int HeadDim { get; init; }
    /// <summary>Width of each MLP branch (config <c>ffn_hidden_size / 2</c> or <c>intermediate_size / 2</c>).</summary>
    public required int IntermediateSize { get; init; }
    /// <summary>Rows of <c>wte</c>/<c>lm_head</c> (151936 for Qwen-7B); larger than the tokenizer's 151851.</summary>
    public required int VocabSize { get; init; }
    /// <summary>Training length S: drives the dynamic-NTK and LogN thresholds (2048 in v1.0, 8192 in v1.1).</summary>
    public required int SeqLength { get; init; }
    public required double RotaryBase { get; init; }
    public required double RmsNormEps { get; init; }
    public required bool UseDynamicNtk { get; init; }
    public required bool UseLognAttn { get; init; }
    /// <summary><c>v1.0</c> or <c>v1.1</c>: which config key style the checkpoint used.</summary>
    public required string ConfigStyle { get; init; }
    /// <summary>Longest sequence (prompt + output) the engine serves with this package: 32767 at most (LogN table).</summary>
    public required int MaxContext { get; init; }
}

/// <summary>How an int4 package was quantized (ONNX Runtime <c>MatMulNBits</c>).</summary>
public sealed record QuantizationInfo
{
    public int Bits { get; init; } = 4;
    public required int BlockSize { get; init; }
    public required bool Symmetric { get; init; }
    public required int AccuracyLevel { get; init; }
    /// <summary>Bits used for lm_head (4, 8 or 16 = kept in float).</summary>
    public required int LmHeadBits { get; init; }
}

/// <summary>Tokenizer file and special tokens of the package.</summary>
public sealed record TokenizerInfo
{
    public string File { get; init; } = "qwen.tiktoken";
    public int EndOfTextId { get; init; } = 151643;
    public int ImStartId { get; init; } = 151644;
    public int ImEndId { get; init; } = 151645;
    /// <summary>First special id (= number of regular BPE tokens).</summary>
    public int SpecialStartId { get; init; } = 151643;
    public int SpecialCount { get; init; } = 208;
}

/// <summary>Generation defaults from the checkpoint's generation_config.json (Qwen-7B-Chat's when absent).</summary>
public sealed record GenerationDefaults
{
    /// <summary><c>chatml</c> for chat models, <c>raw</c> for base models.</summary>
    public string ChatFormat { get; init; } = "chatml";
    public bool DoSample { get; init; } = true;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 0.8;
    /// <summary>0 disables top-k (HF semantics).</summary>
    public int TopK { get; init; }
    public double RepetitionPenalty { get; init; } = 1.1;
    public int MaxNewTokens { get; init; } = 512;
    public int MaxWindowSize { get; init; } = 6144;
    public int EosTokenId { get; init; } = 151643;
}

/// <summary>Input and output names and dtypes of the ONNX graph (see docs/package-format.md).</summary>
public sealed record GraphIo
{
    public string InputIds { get; init; } = "input_ids";
    public string RopeCos { get; init; } = "rope_cos";
    public string RopeSin { get; init; } = "rope_sin";
    public string LognScale { get; init; } = "logn_scale";
    public string SeqLensK { get; init; } = "seqlens_k";
    public string TotalSequenceLength { get; init; } = "total_sequence_length";
    public string LogitsIndices { get; init; } = "logits_indices";
    /// <summary>Format string with the layer index: <c>past_key_values.{0}.key</c>.</summary>
    public string PastKey { get; init; } = "past_key_values.{0}.key";
    public string PastValue { get; init; } = "past_key_values.{0}.value";
    public string PresentKey { get; init; } = "present.{0}.key";
    public string PresentValue { get; init; } = "present.{0}.value";
    public string Logits { get; init; } = "logits";
    /// <summary>Element type of the KV cache: <c>float32</c> or <c>float16</c>.</summary>
    public string KvDtype { get; init; } = "float32";
}

/// <summary>One file of a package with its size and sha256 (lowercase hex).</summary>
public sealed record PackageFile(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("sha256")] string Sha256);
