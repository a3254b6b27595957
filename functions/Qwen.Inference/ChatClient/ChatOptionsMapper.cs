using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Sampling;

namespace Qwen.Inference.ChatClient;

/// <summary>Maps Microsoft.Extensions.AI <see cref="ChatOptions"/> onto a <see cref="GenerationRequest"/>, starting from the package's generation defaults.</summary>
public static class ChatOptionsMapper
{
    /// <summary>Key in <see cref="ChatOptions.AdditionalProperties"/> for Hugging Face's repetition penalty (1 disables it).</summary>
    public const string RepetitionPenaltyKey = "repetition_penalty";

    /// <summary>Key in <see cref="ChatOptions.AdditionalProperties"/> that turns sampling off (<c>false</c>) or on.</summary>
    public const string DoSampleKey = "do_sample";

    /// <summary>Builds the request for <paramref name="promptTokens"/>.</summary>
    /// <exception cref="ArgumentException">An additional property has a value of the wrong type.</exception>
    public static GenerationRequest ToRequest(IReadOnlyList<int> promptTokens, ChatOptions? options, GenerationDefaults defaults)
    {
        var sampling = new SamplingOptions
        {
            DoSample = defaults.DoSample,
            Temperature = defaults.Temperature,
            TopP = defaults.TopP,
            TopK = defaults.TopK,
            RepetitionPenalty = defaults.RepetitionPenalty,
        };
        if (options is null)
        {
            return new GenerationRequest { PromptTokens = promptTokens, Sampling = sampling };
        }
        sampling = sampling with
        {
            Temperature = options.Temperature ?? sampling.Temperature,
            TopP = options.TopP ?? sampling.TopP,
            TopK = options.TopK ?? sampling.TopK,
            PresencePenalty = options.PresencePenalty ?? 0,
            FrequencyPenalty = options.FrequencyPenalty ?? 0,
            Seed = options.Seed,
            RepetitionPenalty = ReadDouble(options, RepetitionPenaltyKey) ?? sampling.RepetitionPenalty,
            DoSample = ReadBool(options, DoSampleKey) ?? sampling.DoSample,
        };
        return new GenerationRequest
        {
            PromptTokens = promptTokens,
            Sampling = sampling,
            MaxNewTokens = options.MaxOutputTokens,
            StopStrings = options.StopSequences is { Count: > 0 } stops ? [.. stops] : [],
        };
    }

    private static double? ReadDouble(ChatOptions options, string key)
    {
        if (options.AdditionalProperties is null || !options.AdditionalProperties.TryGetValue(key, out var value) || value is null)
        {
            return null;
        }
        return value switch
        {
            double d => d,
            float f => f,
            int i => i,
            long l => l,
            decimal m => (double)m,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
            _ => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{key}\"] is {value} ({value.GetType().Name}); expected a number.", nameof(options)),
        };
    }

    private static bool? ReadBool(ChatOptions options, string key)
    {
        if (options.AdditionalProperties is null || !options.AdditionalProperties.TryGetValue(key, out var value) || value is null)
        {
            return null;
        }
        return value switch
        {
            bool b => b,
            string s when bool.TryParse(s, out var parsed) => parsed,
            JsonElement { ValueKind: JsonValueKind.True } => true,
            JsonElement { ValueKind: JsonValueKind.False } => false,
            _ => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{key}\"] is {value} ({value.GetType().Name}); expected true or false.", nameof(options)),
        };
    }
}
