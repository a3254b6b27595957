using System.Security.Cryptography;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Qwen.Inference.Packaging;
using Qwen.ModelPrep;
using Qwen.ModelPrep.Commands;
using Qwen.Testing;
using Spectre.Console.Cli;

namespace Qwen.ModelPrep.Tests;

public sealed class UploadCommandTests : IClassFixture<AzuriteFixture>, IAsyncLifetime, IDisposable
{
    private readonly string _package = Directory.CreateTempSubdirectory("qwen-upload-test-").FullName;
    private readonly RecordPuts _puts = new();
    private readonly BlobContainerClient _container;

    public UploadCommandTests(AzuriteFixture azurite)
    {
        _ = azurite;
        var options = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_05_05);
        options.AddPolicy(_puts, HttpPipelinePosition.PerCall);
        _container = new BlobContainerClient(AzuriteFixture.ConnectionString, AzuriteFixture.UniqueName("models"), options);
        var random = new Random(3);
        var files = new List<PackageFile>();
        foreach (var (path, size) in new[] { ("model.onnx", 3000), ("model.onnx.data", 200_000), ("qwen.tiktoken", 5000) })
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(_package, path), bytes);
            files.Add(new PackageFile(path, size, Convert.ToHexStringLower(SHA256.HashData(bytes))));
        }
        var manifest = new ModelManifest
        {
            Name = "tiny", Dtype = "fp32", Tokenizer = new TokenizerInfo(), Generation = new GenerationDefaults(), Io = new GraphIo(), Files = files,
            Architecture = new ModelArchitecture
            {
                HiddenSize = 64, NumLayers = 2, NumHeads = 4, HeadDim = 16, IntermediateSize = 128, VocabSize = 151936, SeqLength = 2048,
                RotaryBase = 10000, RmsNormEps = 1e-6, UseDynamicNtk = true, UseLognAttn = true, ConfigStyle = "v1.0", MaxContext = 4096,
            },
        };
        File.WriteAllBytes(Path.Combine(_package, ModelManifest.FileName), JsonSerializer.SerializeToUtf8Bytes(manifest, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
    }

    public async Task InitializeAsync() => await _container.CreateAsync();

    public async Task DisposeAsync() => await _container.DeleteIfExistsAsync();

    public void Dispose() => Directory.Delete(_package, recursive: true);

    [Fact]
    public async Task UploadAsync_VerifiedPackage_FilesThenManifestLast()
    {
        var progress = new Dictionary<string, long>();

        var bytes = await UploadCommand.UploadAsync(_package, _container, "tiny", "1.0", (path, sent) => progress[path] = sent);

        var manifestBytes = File.ReadAllBytes(Path.Combine(_package, ModelManifest.FileName));
        Assert.Equal(208_000 + manifestBytes.Length, bytes);
        Assert.Equal(["tiny/1.0/model.onnx", "tiny/1.0/model.onnx.data", "tiny/1.0/qwen.tiktoken", "tiny/1.0/qwen-model.json"], _puts.Paths);
        foreach (var name in new[] { "model.onnx", "model.onnx.data", "qwen.tiktoken", ModelManifest.FileName })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(_package, name)), (await _container.GetBlobClient("tiny/1.0/" + name).DownloadContentAsync()).Value.Content.ToArray());
        }
        Assert.Equal(200_000, progress["model.onnx.data"]);
    }

    [Fact]
    public async Task UploadAsync_FileDisagreesWithManifest_RefusedBeforeAnyUpload()
    {
        var data = File.ReadAllBytes(Path.Combine(_package, "model.onnx.data"));
        data[10] ^= 1;
        File.WriteAllBytes(Path.Combine(_package, "model.onnx.data"), data);

        var ex = await Assert.ThrowsAsync<ModelPrepException>(() => UploadCommand.UploadAsync(_package, _container, "tiny", "1.0"));

        Assert.StartsWith($"Refusing to upload {_package}:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.onnx.data", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_puts.Paths);
    }

    [Fact]
    public async Task Cli_Upload_WithConnectionString_ExitsZero()
    {
        var app = new CommandApp();
        app.Configure(c => { c.PropagateExceptions(); c.AddCommand<UploadCommand>("upload"); });

        var code = await CommandLineRunner.RunAsync(app,
            ["upload", "--package", _package, "--connection-string", AzuriteFixture.ConnectionString, "--container", _container.Name, "--name", "tiny", "--version", "2"]);

        Assert.Equal(0, code);
        Assert.True((await _container.GetBlobClient("tiny/2/qwen-model.json").ExistsAsync()).Value);
    }

    /// <summary>Records the blob paths of PUT requests in order.</summary>
    private sealed class RecordPuts : HttpPipelinePolicy
    {
        private readonly List<string> _paths = [];
        public IReadOnlyList<string> Paths { get { lock (_paths) return _paths.ToArray(); } }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) { Record(message); ProcessNext(message, pipeline); }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) { Record(message); return ProcessNextAsync(message, pipeline); }

        private void Record(HttpMessage message)
        {
            if (message.Request.Method == RequestMethod.Put && !message.Request.Uri.Query.Contains("restype=container", StringComparison.Ordinal))
            {
                var path = message.Request.Uri.Path;
                lock (_paths) _paths.Add(path[(path.IndexOf('/', path.IndexOf('/', 1) + 1) + 1)..]);
            }
        }
    }
}
