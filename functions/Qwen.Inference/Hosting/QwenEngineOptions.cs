using Qwen.Inference.ChatClient;
using Qwen.Inference.Runtime;
using Qwen.Inference.Scheduling;

namespace Qwen.Inference.Hosting;

/// <summary>What <c>AddQwenEngine</c> loads and how: the package directory, the engine kind, runtime and batching settings.</summary>
public sealed record QwenEngineOptions
{
    /// <summary>Directory of the model package (holding qwen-model.json).</summary>
    public string PackageDirectory { get; set; } = "";

    /// <summary>Which engine serves requests; <see cref="QwenEngineKind.Auto"/> batches on CPU and runs one at a time elsewhere.</summary>
    public QwenEngineKind Engine { get; set; } = QwenEngineKind.Auto;

    /// <summary>Execution provider, threads, verification and context length.</summary>
    public ModelRuntimeOptions Runtime { get; set; } = new();

    /// <summary>Batch rows, queue length, KV length and prefill budget of the batching engine.</summary>
    public SchedulerOptions Scheduling { get; set; } = new();

    /// <summary>Settings of the registered <see cref="QwenChatClient"/>.</summary>
    public QwenChatClientOptions ChatClient { get; set; } = new();
}

/// <summary>The engine implementation <c>AddQwenEngine</c> registers.</summary>
public enum QwenEngineKind
{
    /// <summary>The batching scheduler on CPU; the single-request generator on other providers.</summary>
    Auto,
    /// <summary>Continuous batching (<see cref="QwenScheduler"/>), CPU only.</summary>
    Scheduler,
    /// <summary>One request at a time (<see cref="Generation.QwenGenerator"/>).</summary>
    Generator,
}
