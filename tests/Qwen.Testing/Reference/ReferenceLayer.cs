namespace Qwen.Testing.Reference;

/// <summary>One transformer block's weights as stored in the checkpoint (float32, exactly the BF16 values).</summary>
internal sealed record ReferenceLayer(
    float[] Ln1,        // [hidden]
    float[] QkvWeight,  // [3·hidden, hidden]
    float[] QkvBias,    // [3·hidden]
    float[] AttnOut,    // [hidden, hidden]
    float[] Ln2,        // [hidden]
    float[] W1,         // [branch, hidden]  up
    float[] W2,         // [branch, hidden]  gate
    float[] MlpOut);    // [hidden, branch]
