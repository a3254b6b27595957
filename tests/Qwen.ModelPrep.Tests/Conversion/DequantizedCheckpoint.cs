using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Conversion;
using Qwen.Testing;

namespace Qwen.ModelPrep.Tests.Conversion;

/// <summary>A copy of a shared tiny checkpoint whose weights are what an int4 package stores, dequantized, as F32.</summary>
/// <remarks>Lets the float64 <c>ReferenceModel</c> run on exactly the package's weights, separating kernel error from quantization error.</remarks>
internal static class DequantizedCheckpoint
{
    public static async Task<string> GetAsync(TestCheckpoint checkpoint, ConvertOptions options, string variant)
    {
        var source = await TestModels.GetCheckpointAsync(checkpoint);
        var stamp = $"dequantized {TestPackages.ConverterVersion} {variant} of {await File.ReadAllTextAsync(Path.Combine(source, ".test-model-stamp"))}";
        return await TestModels.GetOrCreateAsync(Path.Combine(TestModels.Root, "dequantized", $"{checkpoint}-{variant}".ToLowerInvariant()), stamp, (output, _) =>
        {
            Directory.CreateDirectory(output);
            foreach (var file in new[] { "config.json", "generation_config.json", "qwen.tiktoken" })
            {
                if (File.Exists(Path.Combine(source, file)))
                {
                    File.Copy(Path.Combine(source, file), Path.Combine(output, file));
                }
            }
            using var reader = new DequantizedCheckpointReader(SafetensorsCheckpointReader.Open(source), options);
            var names = QwenWeightWriter.TensorNames(reader.Config.Architecture.NumLayers).ToList();
            var specs = names.Select(n => new SafetensorsTensorSpec(n, "F32", reader.GetInfo(n).Shape)).ToList();
            using var writer = new SafetensorsWriter(Path.Combine(output, SafetensorsCheckpointReader.SingleFileName), specs);
            foreach (var name in names)
            {
                var info = reader.GetInfo(name);
                var chunk = (int)Math.Max(1, (1 << 20) / info.Columns);
                var buffer = new float[chunk * info.Columns];
                for (long r = 0; r < info.Rows; r += chunk)
                {
                    var n = (int)Math.Min(chunk, info.Rows - r);
                    reader.ReadRows(name, r, n, buffer.AsSpan(0, (int)(n * info.Columns)));
                    writer.Write(buffer.AsSpan(0, (int)(n * info.Columns)));
                }
            }
            writer.Complete();
            return Task.CompletedTask;
        });
    }
}
