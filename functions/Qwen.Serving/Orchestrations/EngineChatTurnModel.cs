using Qwen.Inference.Chat;
using Qwen.Inference.Generation;
using Qwen.Inference.Sampling;
using Qwen.Serving.Http;

namespace Qwen.Serving.Orchestrations;

/// <summary>Runs chat turns on the local engine: the ChatML prompt (spec §5.1, window rules) or, for a continued assistant turn, the open completion prompt.</summary>
public sealed class EngineChatTurnModel(IGenerationEngineProvider engines) : IChatTurnModel
{
    /// <inheritdoc />
    /// <exception cref="ArgumentException">The messages do not alternate user/assistant starting with user, or do not end as <see cref="ChatTurnRequest.ContinueLastAssistant"/> requires.</exception>
    public async Task<ChatTurnResult> GenerateAsync(ChatTurnRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var engine = await engines.GetAsync(cancellationToken).ConfigureAwait(false);
        var prompt = BuildPrompt(new ChatMlPromptBuilder(engine.Tokenizer), request, engine.Manifest.Generation);
        var defaults = engine.Manifest.Generation;
        var temperature = request.Temperature ?? defaults.Temperature;
        var result = await engine.CompleteAsync(new GenerationRequest
        {
            PromptTokens = prompt.Tokens,
            MaxNewTokens = request.MaxTokens,
            StopStrings = request.Stop,
            Sampling = new SamplingOptions
            {
                DoSample = defaults.DoSample && temperature >= 1e-5,
                Temperature = temperature,
                TopP = request.TopP ?? defaults.TopP,
                TopK = defaults.TopK,
                RepetitionPenalty = defaults.RepetitionPenalty,
                Seed = request.Seed,
            },
        }, cancellationToken).ConfigureAwait(false);
        return new ChatTurnResult(result.Text, result.FinishReason == FinishReason.Length ? "length" : "stop", result.Usage.PromptTokens, result.Usage.CompletionTokens);
    }

    internal static ChatMlPrompt BuildPrompt(ChatMlPromptBuilder builder, ChatTurnRequest request, Inference.Packaging.GenerationDefaults defaults)
    {
        var messages = request.Messages;
        if (messages.Count == 0)
        {
            throw new ArgumentException("A chat turn needs at least one message.", nameof(request));
        }
        for (var i = 0; i < messages.Count; i++)
        {
            var expected = i % 2 == 0 ? "user" : "assistant";
            if (messages[i].Role != expected)
            {
                throw new ArgumentException($"Message {i} has role '{messages[i].Role}' but '{expected}' was expected: turns alternate user/assistant, starting with user.", nameof(request));
            }
        }
        if (string.Equals(defaults.ChatFormat, "raw", StringComparison.OrdinalIgnoreCase))
        {
            return builder.BuildRaw(messages[^1].Content);
        }
        if (request.ContinueLastAssistant)
        {
            if (messages.Count % 2 != 0)
            {
                throw new ArgumentException("ContinueLastAssistant needs an assistant message last.", nameof(request));
            }
            return builder.BuildCompletion(Pairs(messages, messages.Count), request.System);
        }
        if (messages.Count % 2 == 0)
        {
            throw new ArgumentException("The last message must be from the user (or set ContinueLastAssistant).", nameof(request));
        }
        return builder.Build(messages[^1].Content, Pairs(messages, messages.Count - 1), request.System, defaults.MaxWindowSize);
    }

    private static List<ChatTurn> Pairs(IReadOnlyList<ChatTurnMessage> messages, int count)
    {
        var pairs = new List<ChatTurn>(count / 2);
        for (var i = 0; i + 1 < count; i += 2)
        {
            pairs.Add(new ChatTurn(messages[i].Content, messages[i + 1].Content));
        }
        return pairs;
    }
}
