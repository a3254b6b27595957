using System.Security.Cryptography;
using System.Text.Json;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Qwen.Inference.Packaging;

namespace Qwen.Serving.ModelCache;

/// <summary>Downloads a model package from Blob Storage to a local cache directory, verifying every file against the manifest.</summary>
/// <remarks>
/// Protocol: the manifest is read first; each listed file is downloaded to a unique <c>.part</c> name, its size and
/// sha256 are checked, then it is renamed into place; the manifest is written last, so a local directory holding
/// <c>qwen-model.json</c> is complete (the same rule model-prep uses). A file lock next to the package directory
/// serialises workers that share a disk; the loser of the race finds a complete cache and reuses it.
/// Thread-safe: concurrent calls serialise on the lock.
/// </remarks>
public sealed partial class BlobModelCache
{
    private static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web);
    private const string PartSuffix = ".part";

    private readonly BlobContainerClient _container;
    private readonly ModelCacheOptions _options;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;

    /// <summary>Creates a cache over <paramref name="container"/> (authenticated by the caller: managed identity in Azure, a connection string for Azurite).</summary>
    public BlobModelCache(BlobContainerClient container, ModelCacheOptions options, ILogger<BlobModelCache>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Name) || string.IsNullOrWhiteSpace(options.Version))
        {
            throw new ArgumentException("The model name and version are required (app settings Qwen__Model__Name and Qwen__Model__Version).", nameof(options));
        }
        CheckSegment(options.Name, "model name");
        CheckSegment(options.Version, "model version");
        _container = container;
        _options = options;
        _logger = logger ?? NullLogger<BlobModelCache>.Instance;
        _retry = StorageRetry.Create(options.MaxRetries, options.RetryDelay, _logger);
    }

    /// <summary>The local directory the package is cached in.</summary>
    public string PackageDirectory => Path.Combine(_options.CacheDirectory, _options.Name, _options.Version);

    /// <summary>Blob name prefix of the package: <c>&lt;name&gt;/&lt;version&gt;/</c>.</summary>
    public string BlobPrefix => $"{_options.Name}/{_options.Version}/";

    /// <summary>Returns the verified local package, downloading whatever is missing or wrong.</summary>
    /// <exception cref="InvalidDataException">A blob disagrees with the manifest (size or sha256), or the manifest is invalid.</exception>
    /// <exception cref="RequestFailedException">Storage refused a request (after retries for transient failures); the message names the blob.</exception>
    /// <exception cref="TimeoutException">Another process held the cache lock longer than <see cref="ModelCacheOptions.LockTimeout"/>.</exception>
    public async Task<ModelCacheResult> EnsureAsync(CancellationToken cancellationToken = default)
    {
        var packageDir = PackageDirectory;
        using var gate = await CacheDirectoryLock.AcquireAsync(packageDir + ".lock", _options.LockTimeout, cancellationToken).ConfigureAwait(false);

        var localManifestPath = Path.Combine(packageDir, ModelManifest.FileName);
        byte[] manifestBytes;
        try
        {
            manifestBytes = await DownloadManifestAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (File.Exists(localManifestPath) && ex.Status != 404)
        {
            // Storage is unreachable but a previous run left a complete cache: serve it rather than fail the worker.
            var local = await File.ReadAllBytesAsync(localManifestPath, cancellationToken).ConfigureAwait(false);
            var localManifest = ParseManifest(local, localManifestPath);
            if (await IsCompleteAsync(packageDir, localManifest, cancellationToken).ConfigureAwait(false))
            {
                LogStorageUnreachableUsingCache(_logger, ex.Status, packageDir);
                return new ModelCacheResult(packageDir, localManifest, 0, 0);
            }
            throw;
        }
        var manifest = ParseManifest(manifestBytes, BlobUri(ModelManifest.FileName));

        if (File.Exists(localManifestPath)
            && (await File.ReadAllBytesAsync(localManifestPath, cancellationToken).ConfigureAwait(false)).AsSpan().SequenceEqual(manifestBytes)
            && await IsCompleteAsync(packageDir, manifest, cancellationToken).ConfigureAwait(false))
        {
            LogReused(_logger, packageDir, manifest.Files.Count);
            return new ModelCacheResult(packageDir, manifest, 0, 0);
        }

        // From here the directory is incomplete: drop the manifest first so a crash mid-way can never look complete.
        Directory.CreateDirectory(packageDir);
        File.Delete(localManifestPath);
        DeleteLeftoverParts(packageDir);

        int filesDownloaded = 0;
        long bytesDownloaded = 0;
        foreach (var file in manifest.Files)
        {
            var finalPath = LocalPath(packageDir, file.Path);
            if (File.Exists(finalPath) && new FileInfo(finalPath).Length == file.Size
                && string.Equals(await Sha256Async(finalPath, cancellationToken).ConfigureAwait(false), file.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                continue; // verified survivor of an interrupted earlier run
            }
            await DownloadVerifiedAsync(file, finalPath, cancellationToken).ConfigureAwait(false);
            filesDownloaded++;
            bytesDownloaded += file.Size;
        }

        var manifestPart = localManifestPath + "." + Guid.NewGuid().ToString("N") + PartSuffix;
        await File.WriteAllBytesAsync(manifestPart, manifestBytes, cancellationToken).ConfigureAwait(false);
        File.Move(manifestPart, localManifestPath, overwrite: true);
        LogDownloaded(_logger, filesDownloaded, bytesDownloaded, BlobPrefix, packageDir);
        return new ModelCacheResult(packageDir, manifest, filesDownloaded, bytesDownloaded);
    }

    private async Task<byte[]> DownloadManifestAsync(CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(BlobPrefix + ModelManifest.FileName);
        try
        {
            return await _retry.ExecuteAsync(async ct =>
            {
                var content = await blob.DownloadContentAsync(ct).ConfigureAwait(false);
                return content.Value.Content.ToArray();
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex)
        {
            throw Named(ex, blob.Uri, ex.Status == 404
                ? "the package has no manifest there. Upload it with `model-prep upload` (the manifest goes last) or fix Qwen__Model__Name/Version."
                : "check the worker identity's Storage Blob Data Reader role and the container URI.");
        }
    }

    private async Task DownloadVerifiedAsync(PackageFile file, string finalPath, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(BlobPrefix + file.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(finalPath)!);
        var part = finalPath + "." + Guid.NewGuid().ToString("N") + PartSuffix;
        try
        {
            try
            {
                await _retry.ExecuteAsync(async ct =>
                {
                    await blob.DownloadToAsync(part, new Azure.Storage.Blobs.Models.BlobDownloadToOptions
                    {
                        TransferOptions = new StorageTransferOptions { MaximumConcurrency = _options.DownloadConcurrency },
                    }, ct).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex)
            {
                throw Named(ex, blob.Uri, ex.Status == 404
                    ? "the manifest lists it but the blob is missing; re-upload the package with `model-prep upload`."
                    : "check the worker identity's Storage Blob Data Reader role.");
            }

            var size = new FileInfo(part).Length;
            if (size != file.Size)
            {
                throw new InvalidDataException(
                    $"Blob {blob.Uri} has {size:N0} bytes but the manifest says {file.Size:N0}; the upload is incomplete or the package is corrupt. Re-upload it with `model-prep upload`.");
            }
            var sha = await Sha256Async(part, cancellationToken).ConfigureAwait(false);
            if (!string.Equals(sha, file.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException(
                    $"Blob {blob.Uri} has sha256 {sha} but the manifest says {file.Sha256}; the package is corrupt. Re-upload it with `model-prep upload`.");
            }
            File.Move(part, finalPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(part))
            {
                File.Delete(part);
            }
        }
    }

    private async Task<bool> IsCompleteAsync(string packageDir, ModelManifest manifest, CancellationToken cancellationToken)
    {
        foreach (var file in manifest.Files)
        {
            var path = LocalPath(packageDir, file.Path);
            var info = new FileInfo(path);
            if (!info.Exists || info.Length != file.Size)
            {
                return false;
            }
            if (_options.VerifyHashesOnReuse
                && !string.Equals(await Sha256Async(path, cancellationToken).ConfigureAwait(false), file.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }
        return true;
    }

    private static ModelManifest ParseManifest(byte[] bytes, object source)
    {
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(bytes, ManifestJson);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source} is not a valid {ModelManifest.FileName}: {ex.Message}", ex);
        }
        if (manifest is null || manifest.Files is null || manifest.Files.Count == 0)
        {
            throw new InvalidDataException($"{source} lists no files; it is not a model package manifest.");
        }
        if (manifest.FormatVersion != ModelManifest.CurrentFormatVersion)
        {
            throw new InvalidDataException(
                $"{source} has format version {manifest.FormatVersion}; this worker reads version {ModelManifest.CurrentFormatVersion}. Re-convert the package with the matching model-prep.");
        }
        foreach (var file in manifest.Files)
        {
            if (string.IsNullOrEmpty(file.Path) || Path.IsPathRooted(file.Path) || file.Path.Contains('\\')
                || file.Path.Split('/').Any(s => s is "" or "." or "..") || file.Path == ModelManifest.FileName)
            {
                throw new InvalidDataException($"{source} lists the file path '{file.Path}', which is not a plain relative path inside the package.");
            }
            if (file.Size < 0 || file.Sha256 is not { Length: 64 })
            {
                throw new InvalidDataException($"{source} lists '{file.Path}' without a valid size and 64-hex-digit sha256.");
            }
        }
        return manifest;
    }

    private static string LocalPath(string packageDir, string relative) => Path.Combine(packageDir, relative.Replace('/', Path.DirectorySeparatorChar));

    private static void DeleteLeftoverParts(string packageDir)
    {
        foreach (var part in Directory.EnumerateFiles(packageDir, "*" + PartSuffix, SearchOption.AllDirectories))
        {
            File.Delete(part); // half-written by a process that died; we hold the lock, so nobody is writing it now
        }
    }

    internal static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
        var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    private Uri BlobUri(string relative) => _container.GetBlobClient(BlobPrefix + relative).Uri;

    private static RequestFailedException Named(RequestFailedException ex, Uri blob, string advice)
        => new(ex.Status, $"Reading blob {blob} failed with {ex.Status} {ex.ErrorCode}: {advice}", ex.ErrorCode, ex);

    private static void CheckSegment(string value, string what)
    {
        if (value.Contains('/') || value.Contains('\\') || value is "." or "..")
        {
            throw new ArgumentException($"The {what} '{value}' must be a single path segment (no slashes).");
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Model cache reused: {Directory} ({Files} files verified)")]
    private static partial void LogReused(ILogger logger, string directory, int files);

    [LoggerMessage(2, LogLevel.Information, "Model cache filled: {Files} files, {Bytes} bytes from {Prefix} into {Directory}")]
    private static partial void LogDownloaded(ILogger logger, int files, long bytes, string prefix, string directory);

    [LoggerMessage(3, LogLevel.Warning, "Blob Storage answered {Status}; serving the complete local cache {Directory}")]
    private static partial void LogStorageUnreachableUsingCache(ILogger logger, int status, string directory);
}
