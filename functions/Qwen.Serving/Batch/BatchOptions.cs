namespace Qwen.Serving.Batch;

/// <summary>Settings of batch generation (configuration section <c>Qwen:Batch</c>, app settings <c>Qwen__Batch__*</c>).</summary>
public sealed class BatchOptions
{
    /// <summary>Configuration section the options bind from.</summary>
    public const string SectionName = "Qwen:Batch";

    /// <summary>Azure: the queue carrying <see cref="BatchChunkMessage"/>s; failures land in <c>&lt;queue&gt;-poison</c>.</summary>
    public string QueueName { get; set; } = "qwen-batches";

    /// <summary>Azure: the container holding files, batch records and results.</summary>
    public string ContainerName { get; set; } = "batches";

    /// <summary>Standalone: the data directory (<c>--data-dir</c>); empty means <see cref="DefaultDataDirectory"/>.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>Requests per chunk (one queue message). Small enough that a chunk ends well inside the function timeout.</summary>
    public int ChunkSize { get; set; } = 32;

    /// <summary>Requests of one chunk run at once (the engine batches concurrent requests).</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Most requests in one input file.</summary>
    public int MaxLines { get; set; } = 50_000;

    /// <summary>Largest input file, checked from the stored size before anything is downloaded.</summary>
    public long MaxInputBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>After this long a chunk starts no new requests, queues the rest as a new message and returns (host.json's functionTimeout is 30 min).</summary>
    public TimeSpan ChunkTimeBudget { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often a running chunk re-reads the batch to notice a cancel.</summary>
    public TimeSpan CancelPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Deliveries of one message before it is given up (host.json's <c>maxDequeueCount</c>; the standalone queue uses it too).</summary>
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>Standalone: wait before a failed message is delivered again.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often one request is retried while the engine reports it is busy.</summary>
    public int MaxBusyRetries { get; set; } = 10;

    /// <summary>The standalone default: <c>&lt;local app data&gt;/qwen-functions/batch</c> (~/.local/share on Linux).</summary>
    public static string DefaultDataDirectory =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "qwen-functions", "batch");
}
