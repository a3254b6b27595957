namespace Qwen.Inference.Sampling;

/// <summary>Sampling settings with Hugging Face semantics (spec §5.5) plus OpenAI's penalties, bias and seed.</summary>
/// <remarks>Order: repetition penalty → presence/frequency penalties → logit bias → grammar mask (constrained decoding) → temperature → top-k → top-p → softmax → pick. Temperature 0 (or <see cref="DoSample"/> false) is greedy.</remarks>
public sealed record SamplingOptions
{
    /// <summary>Greedy decoding (argmax), no penalties.</summary>
    public static SamplingOptions Greedy { get; } = new() { DoSample = false, Temperature = 0, TopP = 1, RepetitionPenalty = 1 };

    public bool DoSample { get; init; } = true;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 0.8;
    /// <summary>0 disables top-k.</summary>
    public int TopK { get; init; }
    /// <summary>HF repetition penalty over the prompt and the output, once per distinct id; 1 disables it.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>OpenAI presence penalty (−2…2) over generated tokens.</summary>
    public double PresencePenalty { get; init; }
    /// <summary>OpenAI frequency penalty (−2…2) over generated tokens.</summary>
    public double FrequencyPenalty { get; init; }
    /// <summary>OpenAI logit_bias: added to the logit of each id (−100…100).</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }
    /// <summary>Same seed and same request give the same output.</summary>
    public long? Seed { get; init; }

    /// <summary>True when the pick is argmax: <see cref="DoSample"/> false, temperature below 1e-5, or top-k 1.</summary>
    public bool IsGreedy => !DoSample || Temperature < 1e-5 || TopK == 1;
}
