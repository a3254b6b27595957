using Qwen.Inference.Runtime;

namespace Qwen.Inference.Scheduling;

/// <summary>Settings of <see cref="QwenScheduler"/>: the runtime (provider, threads, verification) and the batching limits.</summary>
public sealed record QwenSchedulerOptions
{
    /// <summary>Execution provider, threads and package verification.</summary>
    public ModelRuntimeOptions Runtime { get; init; } = new();

    /// <summary>Batch rows, queue, KV length and prefill budget.</summary>
    public SchedulerOptions Scheduling { get; init; } = new();
}
