using Qwen.Inference.Packaging;
using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Conversion;
using Qwen.Testing;

namespace Qwen.ModelPrep.Tests.Checkpoints;

public class TestModelsTests
{
    [Fact]
    public async Task GetOrCreate_ConcurrentCallers_BuildOnceAndShareTheDirectory()
    {
        using var temp = new TempDirectory();
        var target = temp.Combine("model");
        var builds = 0;
        async Task Create(string output, CancellationToken ct)
        {
            Interlocked.Increment(ref builds);
            await Task.Delay(200, ct);
            Directory.CreateDirectory(output);
            await File.WriteAllTextAsync(Path.Combine(output, "weights.bin"), "w", ct);
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => TestModels.GetOrCreateAsync(target, "stamp-1", Create))));

        Assert.All(results, r => Assert.Equal(target, r));
        Assert.Equal(1, builds);
        Assert.Equal("w", File.ReadAllText(Path.Combine(target, "weights.bin")));
        Assert.Equal(["model"], Directory.GetDirectories(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task GetOrCreate_StampChanged_RebuildsAndReplaces()
    {
        using var temp = new TempDirectory();
        var target = temp.Combine("model");
        Func<string, CancellationToken, Task> Writer(string content) => async (output, ct) =>
        {
            Directory.CreateDirectory(output);
            await File.WriteAllTextAsync(Path.Combine(output, "weights.bin"), content, ct);
        };

        await TestModels.GetOrCreateAsync(target, "v1", Writer("old"));
        await TestModels.GetOrCreateAsync(target, "v1", Writer("ignored: stamp matches"));
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "weights.bin")));

        await TestModels.GetOrCreateAsync(target, "v2", Writer("new"));
        Assert.Equal("new", File.ReadAllText(Path.Combine(target, "weights.bin")));
        Assert.Equal(["model"], Directory.GetDirectories(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task GetOrCreate_BuildFails_LeavesNothingBehind()
    {
        using var temp = new TempDirectory();
        var target = temp.Combine("model");
        await Assert.ThrowsAsync<InvalidOperationException>(() => TestModels.GetOrCreateAsync(target, "s", (output, _) =>
        {
            Directory.CreateDirectory(output);
            throw new InvalidOperationException("converter failed");
        }));
        Assert.Empty(Directory.GetDirectories(temp.Path));
    }

    [Theory]
    [InlineData(TestCheckpoint.TinyV10Sharded, "v1.0", 2)]
    [InlineData(TestCheckpoint.TinyV11, "v1.1", 1)]
    public async Task GetCheckpoint_SharedTiny_IsAValidCheckpointWithTokenizer(TestCheckpoint checkpoint, string style, int shards)
    {
        var dir = await TestModels.GetCheckpointAsync(checkpoint);
        Assert.StartsWith(Path.Combine(RepoPaths.Artifacts, "test-models"), dir);
        Assert.Equal(dir, await TestModels.GetCheckpointAsync(checkpoint));
        using var reader = SafetensorsCheckpointReader.Open(dir);
        var a = reader.Config.Architecture;
        Assert.Equal((256, 2, 128, 2, 512, 151936, 64, style), (a.HiddenSize, a.NumHeads, a.HeadDim, a.NumLayers, a.IntermediateSize, a.VocabSize, a.SeqLength, a.ConfigStyle));
        Assert.Equal(shards, reader.TensorNames.Select(reader.GetFilePath).Distinct().Count());
        Assert.True(File.Exists(Path.Combine(dir, "qwen.tiktoken")));
    }

    [Fact]
    public async Task GetPackage_ConverterHook_RunsOnceWithCheckpointAndFreshOutput()
    {
        var name = $"hook-test-{Guid.NewGuid():N}";
        var calls = new List<(string Checkpoint, string Output)>();
        Task Convert(string checkpointDir, string outputDir)
        {
            calls.Add((checkpointDir, outputDir));
            Assert.False(Directory.Exists(outputDir));
            Directory.CreateDirectory(outputDir);
            return File.WriteAllTextAsync(Path.Combine(outputDir, "qwen-model.json"), "{}");
        }
        try
        {
            var first = await TestModels.GetPackageAsync(name, TestCheckpoint.TinyV11, "test-1", Convert);
            var second = await TestModels.GetPackageAsync(name, TestCheckpoint.TinyV11, "test-1", Convert);
            Assert.Equal(first, second);
            var call = Assert.Single(calls);
            Assert.Equal(await TestModels.GetCheckpointAsync(TestCheckpoint.TinyV11), call.Checkpoint);
            Assert.True(File.Exists(Path.Combine(first, "qwen-model.json")));
        }
        finally
        {
            Directory.Delete(Path.Combine(TestModels.Root, "packages", name), recursive: true);
        }
    }

    [Fact]
    public async Task GetTinyPackage_Fp32_IsAConvertedPackageReusedOnSecondCall()
    {
        var dir = await TestModels.GetTinyPackageAsync(TestCheckpoint.TinyV11, ModelDtype.Fp32);
        var manifestPath = Path.Combine(dir, ModelManifest.FileName);
        var written = File.GetLastWriteTimeUtc(manifestPath);
        Assert.Equal(dir, await TestModels.GetTinyPackageAsync(TestCheckpoint.TinyV11, ModelDtype.Fp32));
        Assert.Equal(written, File.GetLastWriteTimeUtc(manifestPath));
        var manifest = System.Text.Json.JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(manifestPath), PackageConverter.ManifestSerializerOptions)!;
        Assert.Equal("fp32", manifest.Dtype);
        Assert.Equal(64, manifest.Architecture.SeqLength);
        Assert.Equal(256, manifest.Architecture.HiddenSize);
    }
}
