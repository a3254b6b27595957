using System.Text;
using Qwen.Inference.Generation;
using Qwen.Inference.Sampling;
using Qwen.Inference.Tokenization;

namespace Qwen.Serving.Orchestrations;

/// <summary>Runs chat turns on the local engine: builds the ChatML prompt piece by piece (spec §5.1) and collects the streamed text.</summary>
public sealed class EngineChatTurnModel(IGenerationEngine engine) : IChatTurnModel
{
    /// <summary>Qwen-7B-Chat's default system prompt.</summary>
    public const string DefaultSystem = "You are a helpful assistant.";

    /// <inheritdoc />
    public async Task<ChatTurnResult> GenerateAsync(ChatTurnRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var defaults = engine.Manifest.Generation;
        var prompt = string.Equals(defaults.ChatFormat, "raw", StringComparison.OrdinalIgnoreCase)
            ? engine.Tokenizer.Encode(request.Messages.LastOrDefault()?.Content ?? "")
            : BuildChatMlPrompt(engine.Tokenizer, request);
        var temperature = request.Temperature ?? defaults.Temperature;
        var generation = new GenerationRequest
        {
            PromptTokens = prompt,
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
        };

        var text = new StringBuilder();
        GenerationUpdate? last = null;
        await foreach (var update in engine.GenerateAsync(generation, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.TextDelta);
            last = update;
        }
        var finish = last?.FinishReason == FinishReason.Length ? "length" : "stop";
        return new ChatTurnResult(text.ToString(), finish, last?.Usage?.PromptTokens ?? prompt.Count, last?.Usage?.CompletionTokens ?? 0);
    }

    /// <summary>Spec §5.1: roles, "\n" and contents encoded separately as plain text; a continued assistant turn gets no <c>&lt;|im_end|&gt;</c>.</summary>
    internal static List<int> BuildChatMlPrompt(QwenTokenizer tokenizer, ChatTurnRequest request)
    {
        if (request.Messages.Count == 0)
        {
            throw new ArgumentException("A chat turn needs at least one message.", nameof(request));
        }
        var nl = tokenizer.Encode("\n");
        var tokens = new List<int> { QwenTokenizer.ImStartId };
        AppendPart(tokens, tokenizer, nl, "system", request.System ?? DefaultSystem);
        tokens.Add(QwenTokenizer.ImEndId);
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            tokens.AddRange(nl);
            tokens.Add(QwenTokenizer.ImStartId);
            AppendPart(tokens, tokenizer, nl, message.Role, message.Content);
            var continued = request.ContinueLastAssistant && i == request.Messages.Count - 1;
            if (!continued)
            {
                tokens.Add(QwenTokenizer.ImEndId);
            }
        }
        var last = request.Messages[^1];
        if (request.ContinueLastAssistant)
        {
            if (last.Role != "assistant")
            {
                throw new ArgumentException($"ContinueLastAssistant needs an assistant message last; the last message is '{last.Role}'.", nameof(request));
            }
        }
        else
        {
            tokens.AddRange(nl);
            tokens.Add(QwenTokenizer.ImStartId);
            tokens.AddRange(tokenizer.Encode("assistant"));
            tokens.AddRange(nl);
        }
        return tokens;
    }

    private static void AppendPart(List<int> tokens, QwenTokenizer tokenizer, IReadOnlyList<int> nl, string role, string content)
    {
        tokens.AddRange(tokenizer.Encode(role));
        tokens.AddRange(nl);
        tokens.AddRange(tokenizer.Encode(content));
    }
}
