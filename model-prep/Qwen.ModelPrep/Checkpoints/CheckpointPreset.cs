namespace Qwen.ModelPrep.Checkpoints;

/// <summary>Sizes of a generated checkpoint. All presets keep Qwen's real vocabulary (151936 rows) and head size 128.</summary>
/// <param name="Name">Preset name used on the command line.</param>
/// <param name="HiddenSize">Model width.</param>
/// <param name="NumHeads">Attention heads (head size = hidden / heads).</param>
/// <param name="NumLayers">Transformer blocks.</param>
/// <param name="FfnHiddenSize">config <c>ffn_hidden_size</c>: both SwiGLU branches together (each is half).</param>
/// <param name="VocabSize">Rows of wte and lm_head.</param>
/// <param name="SeqLength">Training length S in v1.1 style; null = the real model's per-style value (2048 v1.0, 8192 v1.1).</param>
public sealed record CheckpointPreset(string Name, int HiddenSize, int NumHeads, int NumLayers, int FfnHiddenSize, int VocabSize, int? SeqLength)
{
    /// <summary>256 wide, 2 heads × 128, 2 layers, S = 64 so short prompts already exercise dynamic NTK and LogN (~156 MB).</summary>
    public static CheckpointPreset Tiny { get; } = new("tiny", 256, 2, 2, 1024, 151936, 64);

    /// <summary>512 wide, 4 heads, 4 layers, S = 256: the demo model (~330 MB).</summary>
    public static CheckpointPreset Small { get; } = new("small", 512, 4, 4, 2816, 151936, 256);

    /// <summary>Qwen-1.8B-like sizes (2048 wide, 16 heads, 24 layers, S = 8192), ~3.7 GB: for benchmarks.</summary>
    public static CheckpointPreset Qwen1_8B { get; } = new("1.8b", 2048, 16, 24, 11008, 151936, 8192);

    /// <summary>Exactly Qwen-7B (spec §1): 15.4 GB in BF16.</summary>
    public static CheckpointPreset Qwen7B { get; } = new("7b", 4096, 32, 32, 22016, 151936, null);

    public static IReadOnlyList<CheckpointPreset> All { get; } = [Tiny, Small, Qwen1_8B, Qwen7B];

    /// <summary>Finds a preset by name.</summary>
    /// <exception cref="ModelPrepException">No preset has that name.</exception>
    public static CheckpointPreset Get(string name)
        => All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
           ?? throw new ModelPrepException($"preset '{name}' is unknown; use one of {string.Join(", ", All.Select(p => p.Name))}");

    public int HeadDim => HiddenSize / NumHeads;

    /// <summary>The training length S written to config.json for a key style.</summary>
    public int SeqLengthFor(string style) => SeqLength ?? (style == "v1.0" ? 2048 : 8192);
}
