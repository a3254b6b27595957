using Qwen.Inference.Packaging;

namespace Qwen.ModelPrep.Checkpoints;

/// <summary>The 8·layers + 3 tensors (259 for Qwen-7B) of a QWenLMHeadModel checkpoint with their HF names and shapes (spec §2.1).</summary>
public static class QwenTensorLayout
{
    public const string Embedding = "transformer.wte.weight";
    public const string FinalNorm = "transformer.ln_f.weight";
    public const string LmHead = "lm_head.weight";

    public static string Ln1(int layer) => $"transformer.h.{layer}.ln_1.weight";
    public static string QkvWeight(int layer) => $"transformer.h.{layer}.attn.c_attn.weight";
    public static string QkvBias(int layer) => $"transformer.h.{layer}.attn.c_attn.bias";
    public static string AttnOut(int layer) => $"transformer.h.{layer}.attn.c_proj.weight";
    public static string Ln2(int layer) => $"transformer.h.{layer}.ln_2.weight";
    /// <summary>The linear ("up") SwiGLU branch.</summary>
    public static string MlpW1(int layer) => $"transformer.h.{layer}.mlp.w1.weight";
    /// <summary>The gate SwiGLU branch (goes through SiLU).</summary>
    public static string MlpW2(int layer) => $"transformer.h.{layer}.mlp.w2.weight";
    public static string MlpOut(int layer) => $"transformer.h.{layer}.mlp.c_proj.weight";

    /// <summary>Every tensor in HF state-dict order: wte, then per layer ln_1, c_attn (weight, bias), c_proj, ln_2, w1, w2, c_proj, then ln_f and lm_head.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> Expected(ModelArchitecture a)
    {
        long h = a.HiddenSize, ff = a.IntermediateSize, v = a.VocabSize, proj = (long)a.NumHeads * a.HeadDim;
        var list = new List<(string, long[])>(9 * a.NumLayers + 3) { (Embedding, [v, h]) };
        for (var i = 0; i < a.NumLayers; i++)
        {
            list.Add((Ln1(i), [h]));
            list.Add((QkvWeight(i), [3 * proj, h]));
            list.Add((QkvBias(i), [3 * proj]));
            list.Add((AttnOut(i), [h, proj]));
            list.Add((Ln2(i), [h]));
            list.Add((MlpW1(i), [ff, h]));
            list.Add((MlpW2(i), [ff, h]));
            list.Add((MlpOut(i), [h, ff]));
        }
        list.Add((FinalNorm, [h]));
        list.Add((LmHead, [v, h]));
        return list;
    }
}
