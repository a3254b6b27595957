namespace Qwen.Benchmarks;

/// <summary>Per-token cost of the constrained-decoding mask (trie walk + apply to one logits row) on one document, in milliseconds.</summary>
public sealed record MaskCostResult
{
    public string Grammar { get; init; } = "";
    public int Tokens { get; init; }
    public double MedianMs { get; init; }
    public double P90Ms { get; init; }
    public double MaxMs { get; init; }
    public double MeanMs { get; init; }
    public double MeanNodesVisited { get; init; }
}
