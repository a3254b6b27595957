using Qwen.ModelPrep.Conversion;

namespace Qwen.Testing;

/// <summary>Model packages converted in process from the shared tiny checkpoints, cached under artifacts/test-models/packages.</summary>
/// <remarks>
/// Built once per model-prep build and reused (see <see cref="TestModels.GetPackageAsync"/>); safe across parallel
/// test processes. <see cref="TestModels.GetTinyPackageAsync"/> covers the default options; this adds int4 variants.
/// </remarks>
public static class TestPackages
{
    /// <summary>Identity of the model-prep build (deterministic builds: changes with its source), so cached packages follow converter changes.</summary>
    public static string ConverterVersion { get; } = "model-prep " + typeof(PackageConverter).Assembly.ManifestModule.ModuleVersionId.ToString("N");

    /// <summary>A tiny package of <paramref name="checkpoint"/> in <paramref name="dtype"/> (int4: the converter's defaults — block 128, symmetric, lm_head 8-bit, accuracy level 4).</summary>
    public static Task<string> GetAsync(TestCheckpoint checkpoint, ModelDtype dtype, CancellationToken cancellationToken = default)
        => TestModels.GetTinyPackageAsync(checkpoint, dtype, cancellationToken);

    /// <summary>A tiny package with custom options; <paramref name="variant"/> names the customization in the cache.</summary>
    public static Task<string> GetAsync(TestCheckpoint checkpoint, ModelDtype dtype, Func<ConvertOptions, ConvertOptions> configure,
        string variant, CancellationToken cancellationToken = default)
    {
        var name = $"{checkpoint}-{dtype}-{variant}".ToLowerInvariant();
        return TestModels.GetPackageAsync(name, checkpoint, ConverterVersion, (input, output) =>
            PackageConverter.ForSafetensors().ConvertAsync(
                configure(new ConvertOptions { Input = input, Output = output, Dtype = dtype, Name = "qwen-tiny" }),
                null, cancellationToken), cancellationToken);
    }
}
