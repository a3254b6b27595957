using Microsoft.Azure.Functions.Worker;
using Qwen.Serving.Batch;

namespace Qwen.Functions.Batch;

/// <summary>Queue triggers for batch generation: thin adapters over <see cref="BatchProcessor"/> and <see cref="BatchPoisonProcessor"/>.</summary>
/// <remarks>
/// A throw makes the host redeliver the message; after host.json's <c>maxDequeueCount</c> (5) it moves the message to
/// <c>&lt;queue&gt;-poison</c>, whose trigger records the failure in the batch's summary.
/// </remarks>
public sealed class BatchQueueFunctions(BatchProcessor processor, BatchPoisonProcessor poison)
{
    /// <summary>Mirrors <c>extensions.queues.maxDequeueCount</c> in host.json.</summary>
    public const int MaxDequeueCount = 5;

    /// <summary>Runs the batch named by the message.</summary>
    [Function("BatchGenerate")]
    public Task<BatchSummary> Generate(
        [QueueTrigger("%" + Serving.Configuration.AppSettingNames.BatchQueueName + "%", Connection = "QwenStorage")] string message,
        CancellationToken cancellationToken)
        => processor.ProcessAsync(message, cancellationToken);

    /// <summary>Records a batch whose message exhausted its retries.</summary>
    [Function("BatchPoison")]
    public Task<string?> Poison(
        [QueueTrigger("%" + Serving.Configuration.AppSettingNames.BatchQueueName + "%-poison", Connection = "QwenStorage")] string message,
        CancellationToken cancellationToken)
        => poison.RecordAsync(message, MaxDequeueCount, cancellationToken);
}
