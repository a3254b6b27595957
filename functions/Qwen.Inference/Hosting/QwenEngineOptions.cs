using Qwen.Inference.ChatClient;
using Qwen.Inference.Runtime;
using Qwen.Inference.Scheduling;

namespace Qwen.Inference.Hosting;

/// <summary>What <c>AddQwenEngine</c> loads and how: the package directory, runtime and batching settings.</summary>
public sealed record QwenEngineOptions
{
    /// <summary>Directory of the model package (holding qwen-model.json).</summary>
    public string PackageDirectory { get; set; } = "";

    /// <summary>Execution provider, threads, verification and context length.</summary>
    public ModelRuntimeOptions Runtime { get; set; } = new();

    /// <summary>Batch rows, queue length, KV budget and length, and prefill budget of the engine.</summary>
    public SchedulerOptions Scheduling { get; set; } = new();

    /// <summary>Settings of the registered <see cref="QwenChatClient"/>.</summary>
    public QwenChatClientOptions ChatClient { get; set; } = new();
}
