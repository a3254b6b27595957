using Qwen.ModelPrep.Onnx.Proto;

namespace Qwen.ModelPrep.Conversion;

/// <summary>Every initializer of a converted Qwen model, as external-data references into model.onnx.data.</summary>
// Embedding: wte [vocab, hidden] in <see cref="EmbeddingType"/>.
// FinalNorm: ln_f gain [hidden] in the activation type.
internal sealed record QwenWeights(
    TensorProto Embedding,
    TensorProto.Types.DataType EmbeddingType,
    IReadOnlyList<LayerWeights> Layers,
    TensorProto FinalNorm,
    LinearWeights LmHead);

/// <summary>One transformer block's initializers.</summary>
// QkvBias: c_attn bias [3·hidden] in the activation type.
internal sealed record LayerWeights(
    TensorProto Norm1,
    LinearWeights Qkv,
    TensorProto QkvBias,
    LinearWeights AttnOut,
    TensorProto Norm2,
    LinearWeights W1,
    LinearWeights W2,
    LinearWeights MlpOut);

/// <summary>A linear layer y = x·Wᵀ stored either as a float MatMul weight [in, out] or as MatMulNBits blocks.</summary>
// Bits: 0 = float MatMul weight; 4 or 8 = MatMulNBits.
// WeightType: Element type of a float weight (it is Cast to the activation type when they differ).
internal sealed record LinearWeights(
    int InFeatures,
    int OutFeatures,
    int Bits,
    TensorProto Weight,
    TensorProto.Types.DataType WeightType,
    TensorProto? Scales = null,
    TensorProto? ZeroPoints = null,
    int BlockSize = 0);
