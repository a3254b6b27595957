namespace Qwen.ModelPrep.Checkpoints;

/// <summary>What <see cref="CheckpointGenerator"/> writes.</summary>
public sealed record CheckpointGeneratorOptions
{
    public required CheckpointPreset Preset { get; init; }

    /// <summary>Same seed, same options → the same bytes.</summary>
    public ulong Seed { get; init; }

    /// <summary>Directory to create (replaced when it already holds a checkpoint or is empty).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary><c>v1.0</c> (GPT-2-style config keys) or <c>v1.1</c> (HF-style keys).</summary>
    public string Style { get; init; } = "v1.1";

    /// <summary>1 = one model.safetensors; more = model-0000i-of-0000K.safetensors + model.safetensors.index.json.</summary>
    public int Shards { get; init; } = 1;

    /// <summary>qwen.tiktoken to copy into the checkpoint, or null to write none.</summary>
    public string? TokenizerPath { get; init; }

    /// <summary>Weight dtype: <c>BF16</c> (the real checkpoints'), <c>F16</c> or <c>F32</c>.</summary>
    public string Dtype { get; init; } = SafetensorsDtype.BF16;
}
