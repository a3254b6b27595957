using System.Security.Cryptography;
using System.Text.Json;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;

namespace Qwen.Inference.Tests.Runtime;

public sealed class ModelPackageTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "qwen-pkg-test-" + Guid.NewGuid().ToString("N"));

    public ModelPackageTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ModelManifest WritePackage(int formatVersion = ModelManifest.CurrentFormatVersion, Func<PackageFile, PackageFile>? tamper = null)
    {
        var files = new List<PackageFile>();
        foreach (var (name, content) in new[] { ("model.onnx", "graph"), ("model.onnx.data", "weights!"), ("qwen.tiktoken", "IQ== 0\n") })
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(content);
            File.WriteAllBytes(Path.Combine(_directory, name), bytes);
            var file = new PackageFile(name, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            files.Add(tamper?.Invoke(file) ?? file);
        }
        var manifest = new ModelManifest
        {
            FormatVersion = formatVersion,
            Name = "test",
            Architecture = LongContextTests.Architecture(useLogn: true),
            Dtype = "fp32",
            Tokenizer = new TokenizerInfo(),
            Generation = new GenerationDefaults(),
            Io = new GraphIo(),
            Files = files,
        };
        File.WriteAllText(Path.Combine(_directory, ModelManifest.FileName), JsonSerializer.Serialize(manifest, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
        return manifest;
    }

    [Fact]
    public void Open_ConsistentPackage_ReadsManifestAndPaths()
    {
        WritePackage();
        var package = ModelPackage.Open(_directory, PackageVerification.Always);
        Assert.Equal("test", package.Manifest.Name);
        Assert.Equal(64, package.Manifest.Architecture.SeqLength);
        Assert.Equal(Path.Combine(_directory, "model.onnx"), package.ModelPath);
        Assert.Equal(Path.Combine(_directory, "qwen.tiktoken"), package.TokenizerPath);
    }

    [Fact]
    public void Open_NoManifest_FailsNamingTheManifest()
    {
        var ex = Assert.Throws<QwenEngineException>(() => ModelPackage.Open(_directory));
        Assert.Contains(ModelManifest.FileName, ex.Message);
        Assert.Contains("not a complete model package", ex.Message);
    }

    [Fact]
    public void Open_OtherFormatVersion_FailsWithBothVersions()
    {
        WritePackage(formatVersion: 7);
        var ex = Assert.Throws<QwenEngineException>(() => ModelPackage.Open(_directory));
        Assert.Contains("format version 7", ex.Message);
        Assert.Contains("reads version 1", ex.Message);
    }

    [Fact]
    public void Open_SizeDiffers_FailsWithBothSizes()
    {
        WritePackage(tamper: f => f.Path == "model.onnx.data" ? f with { Size = 9 } : f);
        var ex = Assert.Throws<QwenEngineException>(() => ModelPackage.Open(_directory, PackageVerification.SizesOnly));
        Assert.Contains("model.onnx.data has 8 bytes; the manifest says 9", ex.Message);
    }

    [Fact]
    public void Open_HashDiffers_FailsWhenVerifyingAndPassesWithSizesOnly()
    {
        WritePackage(tamper: f => f.Path == "qwen.tiktoken" ? f with { Sha256 = new string('0', 64) } : f);
        var ex = Assert.Throws<QwenEngineException>(() => ModelPackage.Open(_directory, PackageVerification.FirstLoad));
        Assert.Contains("qwen.tiktoken has sha256", ex.Message);
        Assert.Equal("open model package", ex.Operation);
        Assert.NotNull(ModelPackage.Open(_directory, PackageVerification.SizesOnly));
    }

    [Fact]
    public void Open_FirstLoadTwice_HashesOnlyOnce()
    {
        WritePackage();
        ModelPackage.Open(_directory, PackageVerification.FirstLoad);
        // Corrupt a byte without changing size or write time: only a re-hash would notice.
        var path = Path.Combine(_directory, "model.onnx");
        var time = File.GetLastWriteTimeUtc(path);
        File.WriteAllText(path, "GRAPH");
        File.SetLastWriteTimeUtc(path, time);
        Assert.NotNull(ModelPackage.Open(_directory, PackageVerification.FirstLoad));
        Assert.Throws<QwenEngineException>(() => ModelPackage.Open(_directory, PackageVerification.Always));
    }

    [Fact]
    public void Open_MissingFile_FailsNamingIt()
    {
        WritePackage();
        File.Delete(Path.Combine(_directory, "model.onnx.data"));
        var ex = Assert.Throws<QwenEngineException>(() => ModelPackage.Open(_directory));
        Assert.Contains("model.onnx.data is listed in the manifest but missing", ex.Message);
    }
}
