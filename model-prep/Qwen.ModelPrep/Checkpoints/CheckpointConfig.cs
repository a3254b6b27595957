using Qwen.Inference.Packaging;

namespace Qwen.ModelPrep.Checkpoints;

/// <summary>A Qwen (QWenLMHeadModel) config.json in either released key style, normalized.</summary>
/// <param name="Architecture">Architecture numbers; <see cref="ModelArchitecture.MaxContext"/> is the default serving context.</param>
/// <param name="Generation">From generation_config.json when present, else Qwen-7B-Chat's defaults.</param>
public sealed record CheckpointConfig(ModelArchitecture Architecture, GenerationDefaults Generation);
