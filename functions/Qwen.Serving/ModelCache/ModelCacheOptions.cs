namespace Qwen.Serving.ModelCache;

/// <summary>Where a model package lives in Blob Storage and where workers cache it on local disk.</summary>
public sealed class ModelCacheOptions
{
    /// <summary>Container holding packages as <c>&lt;name&gt;/&lt;version&gt;/…</c> (app setting <c>Qwen__Model__BlobContainerUri</c>).</summary>
    public Uri? BlobContainerUri { get; set; }

    /// <summary>Package name (app setting <c>Qwen__Model__Name</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary>Package version (app setting <c>Qwen__Model__Version</c>).</summary>
    public string Version { get; set; } = "";

    /// <summary>Local cache root (app setting <c>Qwen__Model__CacheDirectory</c>); the package lands in <c>&lt;root&gt;/&lt;name&gt;/&lt;version&gt;</c>.</summary>
    public string CacheDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "qwen-model-cache");

    /// <summary>Retries after the first attempt for a transient storage failure (per blob).</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>First retry delay; later ones back off exponentially with jitter.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a worker waits for another process that holds the cache lock (it may be downloading 15 GB).</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Re-hash every cached file on reuse instead of trusting sizes plus the manifest written last.</summary>
    public bool VerifyHashesOnReuse { get; set; }

    /// <summary>Parallel range downloads per blob.</summary>
    public int DownloadConcurrency { get; set; } = 8;
}
