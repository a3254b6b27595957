using Qwen.Inference.Constraints;
using Qwen.Inference.Sampling;

namespace Qwen.Inference.Generation;

/// <summary>One generation: prompt token ids, sampling settings and stop rules.</summary>
public sealed record GenerationRequest
{
    /// <summary>Prompt token ids, already formatted (ChatML or raw).</summary>
    public required IReadOnlyList<int> PromptTokens { get; init; }

    /// <summary>Maximum number of new tokens; null means the package default, capped by the context.</summary>
    public int? MaxNewTokens { get; init; }

    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Stop strings matched on decoded text across token boundaries; the stop text is not emitted.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Extra stop token ids besides 151643/151644/151645 (which always stop).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Return the chosen token's log-probability with each token.</summary>
    public bool Logprobs { get; init; }

    /// <summary>Number of most likely alternatives (0–20) to return per position.</summary>
    public int TopLogprobs { get; init; }

    /// <summary>Caller id for logs and metrics (OpenAI <c>user</c>); never part of the prompt.</summary>
    public string? User { get; init; }

    /// <summary>Prefix-cache partition (a tenant): cached KV is reused only by requests with the same scope.</summary>
    /// <remarks>
    /// Reuse is observable (<c>cached_tokens</c>, and time to first token), so a shared cache would let one caller probe
    /// another's prompt token by token. Hosts set this to a hash of the caller's key and <c>user</c>; null is one scope.
    /// </remarks>
    public string? CacheScope { get; init; }

    /// <summary>Limits the output to a grammar (JSON mode, a JSON Schema, a ReAct tool call); null is free text.</summary>
    /// <remarks>
    /// The output ends (finish reason <c>stop</c>) as soon as the grammar is complete and nothing can follow; a complete
    /// grammar that may go on (a top-level number) lets the model choose an end token. While a constraint is set,
    /// <see cref="StopStrings"/> and regular-token <see cref="StopTokenIds"/> are ignored (docs/structured-output.md).
    /// </remarks>
    public TokenConstraint? Constraint { get; init; }
}
