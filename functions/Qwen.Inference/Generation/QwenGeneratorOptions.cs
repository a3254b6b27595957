using Qwen.Inference.Runtime;

namespace Qwen.Inference.Generation;

/// <summary>Settings of a <see cref="QwenGenerator"/>.</summary>
public sealed record QwenGeneratorOptions
{
    /// <summary>Execution provider, threads, package verification and context length.</summary>
    public ModelRuntimeOptions Runtime { get; init; } = new();

    /// <summary>Keep the previous request's KV entries so a prompt that extends it prefills only the new tokens (same NTK α required).</summary>
    public bool ReusePromptPrefix { get; init; } = true;
}
