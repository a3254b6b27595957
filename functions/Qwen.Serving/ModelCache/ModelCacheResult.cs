using Qwen.Inference.Packaging;

namespace Qwen.Serving.ModelCache;

/// <summary>A verified local copy of a model package.</summary>
/// <param name="PackageDirectory">Local directory holding the package (the manifest and every file it lists).</param>
/// <param name="Manifest">The package manifest.</param>
/// <param name="FilesDownloaded">Files fetched from Blob by this call (0 when the cache was reused).</param>
/// <param name="BytesDownloaded">Bytes fetched from Blob by this call.</param>
public sealed record ModelCacheResult(string PackageDirectory, ModelManifest Manifest, int FilesDownloaded, long BytesDownloaded);
