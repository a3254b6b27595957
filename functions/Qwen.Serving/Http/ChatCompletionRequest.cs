using Qwen.Inference.Constraints;
using Qwen.Inference.Sampling;

namespace Qwen.Serving.Http;

/// <summary>A validated chat or text completion request; every OpenAI field the API accepts, already range-checked.</summary>
public sealed record ChatCompletionRequest
{
    public string? Model { get; init; }
    public IReadOnlyList<ChatMessageInput> Messages { get; init; } = [];
    /// <summary>Tools from <c>tools</c> or legacy <c>functions</c>.</summary>
    public IReadOnlyList<ToolDefinition> Tools { get; init; } = [];
    /// <summary>True when the request used legacy <c>functions</c>/<c>function_call</c>: replies use <c>function_call</c>.</summary>
    public bool LegacyFunctions { get; init; }
    public ToolChoice ToolChoice { get; init; } = ToolChoice.Auto;
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public double? RepetitionPenalty { get; init; }
    public int? MaxTokens { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    public int N { get; init; } = 1;
    public long? Seed { get; init; }
    public double PresencePenalty { get; init; }
    public double FrequencyPenalty { get; init; }
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }
    public bool Logprobs { get; init; }
    public int TopLogprobs { get; init; }
    public string? User { get; init; }
    public bool Stream { get; init; }
    public bool IncludeUsage { get; init; }

    /// <summary>What <c>response_format</c> asks of the output: null for text, else a JSON value or a JSON Schema to constrain decoding to.</summary>
    public Grammar? ResponseGrammar { get; init; }

    /// <summary>For /v1/completions: the prompt as text, or null when given as token ids.</summary>
    public string? PromptText { get; init; }
    /// <summary>For /v1/completions: the prompt as token ids.</summary>
    public IReadOnlyList<int>? PromptTokens { get; init; }
    /// <summary>For /v1/completions: prepend the prompt to the returned text.</summary>
    public bool Echo { get; init; }

    /// <summary>Sampling settings: the request's values over the package's generation defaults.</summary>
    public SamplingOptions ToSampling(Qwen.Inference.Packaging.GenerationDefaults defaults, int choiceIndex)
    {
        var temperature = Temperature ?? defaults.Temperature;
        return new SamplingOptions
        {
            // The reference server treats temperature < 0.01 as greedy (spec §5.5).
            DoSample = defaults.DoSample && temperature >= 0.01,
            Temperature = temperature,
            TopP = TopP ?? defaults.TopP,
            TopK = TopK ?? defaults.TopK,
            RepetitionPenalty = RepetitionPenalty ?? defaults.RepetitionPenalty,
            PresencePenalty = PresencePenalty,
            FrequencyPenalty = FrequencyPenalty,
            LogitBias = LogitBias,
            // n choices with one seed must still differ from each other, and repeat run to run.
            Seed = Seed is { } s ? s + choiceIndex : null,
        };
    }
}
