using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Conversion;
using Qwen.Testing;

namespace Qwen.Inference.Tests.Generation;

/// <summary>fp32 packages converted from the shared tiny checkpoints, cached by <see cref="TestModels"/>.</summary>
internal static class TestPackages
{
    // Bump when the converter's output changes so cached packages are rebuilt.
    private const string Version = "fp32-1";

    public static Task<string> GetAsync(TestCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        var name = checkpoint switch
        {
            TestCheckpoint.TinyV10Sharded => "tiny-v1.0-fp32",
            TestCheckpoint.TinyV11 => "tiny-v1.1-fp32",
            _ => throw new ArgumentOutOfRangeException(nameof(checkpoint)),
        };
        return TestModels.GetPackageAsync(name, checkpoint, Version, (input, output) =>
            new PackageConverter(directory => SafetensorsCheckpointReader.Open(directory))
                .ConvertAsync(new ConvertOptions { Input = input, Output = output, Dtype = ModelDtype.Fp32 }, cancellationToken: cancellationToken),
            cancellationToken);
    }
}
