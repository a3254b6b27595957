using Qwen.ModelPrep.Checkpoints;

namespace Qwen.ModelPrep.Tests.Checkpoints;

/// <summary>Writes very small checkpoints (hidden 16, 2 heads of 8, 2 layers, vocab 32) so bad-input tests run in milliseconds.</summary>
internal static class MicroCheckpoint
{
    public static CheckpointPreset Preset { get; } = new("micro", 16, 2, 2, 24, 32, 8);

    public static async Task<string> CreateAsync(string directory, string style = "v1.1", int shards = 1, string dtype = SafetensorsDtype.BF16, ulong seed = 7)
    {
        await CheckpointGenerator.WriteAsync(new CheckpointGeneratorOptions
        {
            Preset = Preset,
            Seed = seed,
            OutputDirectory = directory,
            Style = style,
            Shards = shards,
            Dtype = dtype,
        });
        return directory;
    }
}
