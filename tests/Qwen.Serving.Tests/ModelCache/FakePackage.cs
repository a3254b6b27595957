using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs;
using Qwen.Inference.Packaging;

namespace Qwen.Serving.Tests.ModelCache;

/// <summary>A small package with seeded random file contents and a manifest listing their sizes and hashes.</summary>
internal sealed class FakePackage
{
    public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);
    public byte[] ManifestBytes { get; }

    public FakePackage(int seed)
    {
        var random = new Random(seed);
        foreach (var (path, size) in new[] { ("model.onnx", 4_000), ("model.onnx.data", 300_000), ("qwen.tiktoken", 9_000) })
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            Files[path] = bytes;
        }
        var manifest = new ModelManifest
        {
            Name = "tiny",
            Dtype = "fp32",
            Architecture = new ModelArchitecture
            {
                HiddenSize = 64, NumLayers = 2, NumHeads = 4, HeadDim = 16, IntermediateSize = 128, VocabSize = 151936,
                SeqLength = 2048, RotaryBase = 10000, RmsNormEps = 1e-6, UseDynamicNtk = true, UseLognAttn = true,
                ConfigStyle = "v1.0", MaxContext = 4096,
            },
            Tokenizer = new TokenizerInfo(),
            Generation = new GenerationDefaults(),
            Io = new GraphIo(),
            Files = Files.Select(f => new PackageFile(f.Key, f.Value.Length, Convert.ToHexStringLower(SHA256.HashData(f.Value)))).ToArray(),
        };
        ManifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true });
    }

    /// <summary>Uploads the files (optionally replacing some contents) and then the manifest, under <c>name/version/</c>.</summary>
    public async Task UploadAsync(BlobContainerClient container, string prefix, IReadOnlyDictionary<string, byte[]>? replace = null)
    {
        foreach (var (path, bytes) in Files)
        {
            var content = replace is not null && replace.TryGetValue(path, out var r) ? r : bytes;
            await container.GetBlobClient(prefix + path).UploadAsync(new BinaryData(content), overwrite: true);
        }
        await container.GetBlobClient(prefix + ModelManifest.FileName).UploadAsync(new BinaryData(ManifestBytes), overwrite: true);
    }
}
