namespace Qwen.Benchmarks;

/// <summary>One request on its own: prefill rate, decode rate and time to first token (best of the repeats).</summary>
public sealed record SingleStreamResult
{
    public int PromptTokens { get; init; }
    public int DecodeTokens { get; init; }
    public double PrefillTokensPerSecond { get; init; }
    public double DecodeTokensPerSecond { get; init; }
    public double TimeToFirstTokenMs { get; init; }
}
