namespace Qwen.Serving.Batch;

/// <summary>Settings of queue-driven batch generation.</summary>
public sealed class BatchOptions
{
    /// <summary>Queue carrying <see cref="BatchMessage"/>s (app setting <c>Qwen__Batch__QueueName</c>); failures land in <c>&lt;queue&gt;-poison</c>.</summary>
    public string QueueName { get; set; } = "qwen-batches";

    /// <summary>Container with inputs and results (app setting <c>Qwen__Batch__ContainerName</c>).</summary>
    public string ContainerName { get; set; } = "batches";

    /// <summary>Lines processed at once (the engine batches concurrent requests).</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>Most request lines in one input file (OpenAI's limit).</summary>
    public int MaxLines { get; set; } = 50_000;

    /// <summary>How often one line is retried while the engine reports it is busy.</summary>
    public int MaxBusyRetries { get; set; } = 10;
}
