using Qwen.Testing;
using System.Security.Cryptography;
using System.Text.Json;
using Qwen.Inference.Packaging;
using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Conversion;

namespace Qwen.ModelPrep.Tests.Conversion;

public sealed class PackageConverterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-convert-").FullName;
    private readonly string _input;

    public PackageConverterTests()
    {
        _input = Directory.CreateDirectory(Path.Combine(_dir, "ckpt")).FullName;
        File.WriteAllText(Path.Combine(_input, "qwen.tiktoken"), "IQ== 0\nIg== 1\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static FakeCheckpointReader Reader() => FakeCheckpointReader.Create(FakeCheckpointReader.Architecture(layers: 1));

    private Task<ModelManifest> ConvertAsync(string output, ICheckpointReader reader, bool force = false, bool genai = false)
        => new PackageConverter(_ => reader).ConvertAsync(new ConvertOptions
        {
            Input = _input, Output = output, Dtype = ModelDtype.Int4, LmHeadBits = 16, Force = force, GenAi = genai, Name = "tiny-test", MaxContext = 48,
        });

    [Fact]
    public async Task Convert_WritesManifestListingEveryFileWithSizeAndHash()
    {
        var output = Path.Combine(_dir, "pkg");
        var manifest = await ConvertAsync(output, Reader(), genai: true);

        var onDisk = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(output, ModelManifest.FileName)), PackageConverter.ManifestSerializerOptions)!;
        Assert.Equal(["genai/genai_config.json", "genai/model.onnx", "genai/model.onnx.data", "model.onnx", "model.onnx.data", "qwen.tiktoken"],
            onDisk.Files.Select(f => f.Path).Order(StringComparer.Ordinal));
        foreach (var file in onDisk.Files)
        {
            var path = Path.Combine(output, file.Path);
            Assert.Equal(new FileInfo(path).Length, file.Size);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), file.Sha256);
        }
        Assert.Equal("tiny-test", onDisk.Name);
        Assert.Equal("int4", onDisk.Dtype);
        Assert.Equal(new QuantizationInfo { Bits = 4, BlockSize = 128, Symmetric = true, AccuracyLevel = 4, LmHeadBits = 16 }, onDisk.Quantization);
        Assert.Equal(48, onDisk.Architecture.MaxContext);
        Assert.Equal("float32", onDisk.Io.KvDtype);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_input, "qwen.tiktoken")), File.ReadAllBytes(Path.Combine(output, "qwen.tiktoken")));
        Assert.Equal(manifest.Files, onDisk.Files);
        Assert.Equal(["pkg", "ckpt"], Directory.GetDirectories(_dir).Select(Path.GetFileName).OrderDescending());
        Assert.Contains("\"hiddenSize\": 64", File.ReadAllText(Path.Combine(output, ModelManifest.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Convert_ExistingNonPackageOutput_RefusesWithoutForce()
    {
        var output = Directory.CreateDirectory(Path.Combine(_dir, "precious")).FullName;
        File.WriteAllText(Path.Combine(output, "notes.txt"), "keep me");

        var ex = await Assert.ThrowsAsync<ModelPrepException>(() => ConvertAsync(output, Reader()));

        Assert.Contains("--force", ex.Message, StringComparison.Ordinal);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(output, "notes.txt")));
        await ConvertAsync(output, Reader(), force: true);
        Assert.False(File.Exists(Path.Combine(output, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(output, ModelManifest.FileName)));
    }

    [Fact]
    public async Task Convert_ExistingPackage_IsReplaced()
    {
        var output = Path.Combine(_dir, "pkg");
        await ConvertAsync(output, Reader());
        File.WriteAllText(Path.Combine(output, "stale.txt"), "old");

        await ConvertAsync(output, Reader());

        Assert.False(File.Exists(Path.Combine(output, "stale.txt")));
        Assert.Equal(["ckpt", "pkg"], Directory.GetDirectories(_dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Convert_UnwritableOutput_FailsWithOneLineNamingIt()
    {
        var blocker = Path.Combine(_dir, "file");
        File.WriteAllText(blocker, "x");
        var output = Path.Combine(blocker, "pkg");

        var ex = await Assert.ThrowsAsync<ModelPrepException>(() => ConvertAsync(output, Reader()));

        Assert.Contains(output, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task Convert_ReaderFailsMidway_LeavesNoOutput()
    {
        var reader = new FailingReader(Reader(), "transformer.h.0.mlp.w2.weight");
        var output = Path.Combine(_dir, "pkg");

        var ex = await Assert.ThrowsAsync<ModelPrepException>(() => ConvertAsync(output, reader));

        Assert.Equal("shard broken: transformer.h.0.mlp.w2.weight", ex.Message);
        Assert.Equal(["ckpt"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
        Assert.True(reader.Disposed);
    }

    [Fact]
    public async Task Convert_Cancelled_LeavesNoOutput()
    {
        using var cts = new CancellationTokenSource();
        var reader = new FailingReader(Reader(), "transformer.h.0.attn.c_proj.weight", cts.Cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new PackageConverter(_ => reader).ConvertAsync(
            new ConvertOptions { Input = _input, Output = Path.Combine(_dir, "pkg") }, null, cts.Token));

        Assert.Equal(["ckpt"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(48, 4, 8, "--block-size 48")]
    [InlineData(32, 5, 8, "--accuracy-level 5")]
    [InlineData(32, 4, 2, "--lm-head-bits 2")]
    public async Task Convert_BadInt4Options_NameTheOption(int blockSize, int accuracy, int lmBits, string expected)
    {
        var ex = await Assert.ThrowsAsync<ModelPrepException>(() => new PackageConverter(_ => Reader()).ConvertAsync(new ConvertOptions
        {
            Input = _input, Output = Path.Combine(_dir, "pkg"), Dtype = ModelDtype.Int4, BlockSize = blockSize, AccuracyLevel = accuracy, LmHeadBits = lmBits,
        }));
        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Throws (or runs a callback) when a given tensor is read.</summary>
    private sealed class FailingReader(ICheckpointReader inner, string failOn, Action? onRead = null) : ICheckpointReader
    {
        public bool Disposed { get; private set; }
        public CheckpointConfig Config => inner.Config;
        public IReadOnlyCollection<string> TensorNames => inner.TensorNames;
        public CheckpointTensorInfo GetInfo(string name) => inner.GetInfo(name);

        public void ReadRows(string name, long rowStart, int rows, Span<float> destination)
        {
            if (name == failOn)
            {
                if (onRead is null)
                {
                    throw new ModelPrepException($"shard broken: {name}");
                }
                onRead();
            }
            inner.ReadRows(name, rowStart, rows, destination);
        }

        public void Dispose()
        {
            Disposed = true;
            inner.Dispose();
        }
    }
}
