using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Qwen.Inference.Packaging;
using Qwen.Serving.ModelCache;
using Qwen.Testing;

namespace Qwen.Serving.Tests.ModelCache;

public sealed class BlobModelCacheTests : IClassFixture<AzuriteFixture>, IAsyncLifetime, IDisposable
{
    private readonly BlobContainerClient _container;
    private readonly string _cacheRoot = Directory.CreateTempSubdirectory("qwen-cache-test-").FullName;
    private readonly FakePackage _package = new(seed: 7);

    public BlobModelCacheTests(AzuriteFixture azurite)
    {
        _ = azurite;
        _container = new BlobContainerClient(AzuriteFixture.ConnectionString, AzuriteFixture.UniqueName("models"), AzuriteClientOptions());
    }

    public async Task InitializeAsync() => await _container.CreateAsync();

    public async Task DisposeAsync() => await _container.DeleteIfExistsAsync();

    public void Dispose() => Directory.Delete(_cacheRoot, recursive: true);

    internal static BlobClientOptions AzuriteClientOptions()
    {
        // Azurite validates the x-ms-version header; pin one it knows instead of the SDK's newest.
        var options = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_05_05);
        options.Retry.MaxRetries = 0; // the cache's Polly pipeline does the retrying under test
        return options;
    }

    private BlobModelCache NewCache(BlobContainerClient? container = null) => new(container ?? _container, new ModelCacheOptions
    {
        Name = "tiny",
        Version = "1.0",
        CacheDirectory = _cacheRoot,
        RetryDelay = TimeSpan.FromMilliseconds(10),
        LockTimeout = TimeSpan.FromSeconds(60),
    });

    private void AssertPackageOnDisk(string dir)
    {
        foreach (var (path, bytes) in _package.Files)
        {
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(dir, path)));
        }
        Assert.Equal(_package.ManifestBytes, File.ReadAllBytes(Path.Combine(dir, ModelManifest.FileName)));
        Assert.Empty(Directory.GetFiles(dir, "*.part", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task EnsureAsync_EmptyCache_DownloadsEveryFileVerified()
    {
        await _package.UploadAsync(_container, "tiny/1.0/");

        var result = await NewCache().EnsureAsync();

        Assert.Equal(Path.Combine(_cacheRoot, "tiny", "1.0"), result.PackageDirectory);
        Assert.Equal(3, result.FilesDownloaded);
        Assert.Equal(313_000, result.BytesDownloaded);
        Assert.Equal("tiny", result.Manifest.Name);
        AssertPackageOnDisk(result.PackageDirectory);
    }

    [Fact]
    public async Task EnsureAsync_CompleteCache_ReusedWithoutDownloading()
    {
        await _package.UploadAsync(_container, "tiny/1.0/");
        await NewCache().EnsureAsync();

        var second = await NewCache().EnsureAsync();

        Assert.Equal(0, second.FilesDownloaded);
        Assert.Equal(0, second.BytesDownloaded);
        AssertPackageOnDisk(second.PackageDirectory);
    }

    [Fact]
    public async Task EnsureAsync_CorruptBlob_RefusedNamingTheBlobAndLeavesNoFile()
    {
        var corrupt = (byte[])_package.Files["model.onnx.data"].Clone();
        corrupt[12_345] ^= 0xFF; // same size, different hash
        await _package.UploadAsync(_container, "tiny/1.0/", new Dictionary<string, byte[]> { ["model.onnx.data"] = corrupt });

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => NewCache().EnsureAsync());

        Assert.Contains($"{_container.Uri}/tiny/1.0/model.onnx.data", ex.Message, StringComparison.Ordinal);
        Assert.Contains("sha256", ex.Message, StringComparison.Ordinal);
        var dir = Path.Combine(_cacheRoot, "tiny", "1.0");
        Assert.False(File.Exists(Path.Combine(dir, "model.onnx.data")));
        Assert.False(File.Exists(Path.Combine(dir, ModelManifest.FileName)));
        Assert.Empty(Directory.GetFiles(dir, "*.part", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task EnsureAsync_TruncatedBlob_RefusedWithBothSizes()
    {
        var truncated = _package.Files["model.onnx.data"][..150_000];
        await _package.UploadAsync(_container, "tiny/1.0/", new Dictionary<string, byte[]> { ["model.onnx.data"] = truncated });

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => NewCache().EnsureAsync());

        Assert.Equal(
            $"Blob {_container.Uri}/tiny/1.0/model.onnx.data has 150,000 bytes but the manifest says 300,000; the upload is incomplete or the package is corrupt. Re-upload it with `model-prep upload`.",
            ex.Message);
    }

    [Fact]
    public async Task EnsureAsync_HalfWrittenTempAndTruncatedFile_NeverUsed()
    {
        await _package.UploadAsync(_container, "tiny/1.0/");
        var dir = Directory.CreateDirectory(Path.Combine(_cacheRoot, "tiny", "1.0")).FullName;
        // What a worker killed mid-download leaves: a partial temp file, and (worst case) a truncated final name.
        var data = _package.Files["model.onnx.data"];
        File.WriteAllBytes(Path.Combine(dir, "model.onnx.data.0123456789abcdef0123456789abcdef.part"), data[..1000]);
        File.WriteAllBytes(Path.Combine(dir, "model.onnx.data"), data[..1000]);
        File.WriteAllBytes(Path.Combine(dir, "model.onnx"), _package.Files["model.onnx"]);

        var result = await NewCache().EnsureAsync();

        Assert.Equal(2, result.FilesDownloaded); // model.onnx survived verified; the truncated data file and the tokenizer were fetched
        AssertPackageOnDisk(dir);
    }

    [Fact]
    public async Task EnsureAsync_LocalFileTruncatedAfterCompletion_DetectedAndRedownloaded()
    {
        await _package.UploadAsync(_container, "tiny/1.0/");
        var first = await NewCache().EnsureAsync();
        var dataPath = Path.Combine(first.PackageDirectory, "model.onnx.data");
        File.WriteAllBytes(dataPath, _package.Files["model.onnx.data"][..5000]);

        var second = await NewCache().EnsureAsync();

        Assert.Equal(1, second.FilesDownloaded);
        AssertPackageOnDisk(second.PackageDirectory);
    }

    [Fact]
    public async Task EnsureAsync_ConcurrentCallersOnOneDisk_DownloadOnce()
    {
        await _package.UploadAsync(_container, "tiny/1.0/");

        // Separate instances with separate clients behave like separate worker processes sharing the disk.
        var tasks = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            NewCache(new BlobContainerClient(AzuriteFixture.ConnectionString, _container.Name, AzuriteClientOptions())).EnsureAsync()));
        var results = await Task.WhenAll(tasks);

        Assert.Equal(3, results.Sum(r => r.FilesDownloaded));
        Assert.Equal(313_000, results.Sum(r => r.BytesDownloaded));
        Assert.Equal(3, results.Count(r => r.FilesDownloaded == 0));
        AssertPackageOnDisk(results[0].PackageDirectory);
    }

    [Fact]
    public async Task EnsureAsync_NoManifest_404NamesTheManifestBlob()
    {
        await _container.GetBlobClient("tiny/1.0/model.onnx").UploadAsync(new BinaryData(_package.Files["model.onnx"]));

        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => NewCache().EnsureAsync());

        Assert.Equal(404, ex.Status);
        Assert.Contains($"{_container.Uri}/tiny/1.0/qwen-model.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model-prep upload", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureAsync_TransientFailures_RetriedByPolly()
    {
        await _package.UploadAsync(_container, "tiny/1.0/");
        var faults = new FailFirstRequests("/tiny/1.0/model.onnx.data", failures: 2);
        var options = AzuriteClientOptions();
        options.AddPolicy(faults, HttpPipelinePosition.PerCall);
        var flaky = new BlobContainerClient(AzuriteFixture.ConnectionString, _container.Name, options);

        var result = await NewCache(flaky).EnsureAsync();

        Assert.Equal(2, faults.Failed);
        Assert.Equal(3, result.FilesDownloaded);
        AssertPackageOnDisk(result.PackageDirectory);
    }

    [Fact]
    public async Task EnsureAsync_Forbidden_NotRetriedAndNamesTheBlob()
    {
        await _package.UploadAsync(_container, "tiny/1.0/");
        var faults = new FailFirstRequests("/tiny/1.0/qwen-model.json", failures: 100, status: 403);
        var options = AzuriteClientOptions();
        options.AddPolicy(faults, HttpPipelinePosition.PerCall);

        var ex = await Assert.ThrowsAsync<RequestFailedException>(
            () => NewCache(new BlobContainerClient(AzuriteFixture.ConnectionString, _container.Name, options)).EnsureAsync());

        Assert.Equal(1, faults.Failed);
        Assert.Equal(403, ex.Status);
        Assert.Contains("qwen-model.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Storage Blob Data Reader", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Fails the first N requests whose path ends with a suffix, as a storage front end under load would.</summary>
    private sealed class FailFirstRequests(string pathSuffix, int failures, int status = 503) : HttpPipelinePolicy
    {
        private int _attempts;
        private int _failed;
        public int Failed => Volatile.Read(ref _failed);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Check(message);
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Check(message);
            return ProcessNextAsync(message, pipeline);
        }

        private void Check(HttpMessage message)
        {
            if (message.Request.Uri.Path.EndsWith(pathSuffix, StringComparison.Ordinal) && Interlocked.Increment(ref _attempts) <= failures)
            {
                Interlocked.Increment(ref _failed);
                throw new RequestFailedException(status, $"injected {status}");
            }
        }
    }
}
