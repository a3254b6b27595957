namespace Qwen.Benchmarks;

/// <summary>N concurrent requests: aggregate tokens per second (end to end and within decode steps) and mean TTFT.</summary>
public sealed record ConcurrencyResult
{
    public int Requests { get; init; }
    public int PromptTokens { get; init; }
    public int DecodeTokens { get; init; }
    public double AggregateTokensPerSecond { get; init; }
    public double DecodeTokensPerSecond { get; init; }
    public double MeanTimeToFirstTokenMs { get; init; }
    public double WallSeconds { get; init; }
}
