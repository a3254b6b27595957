using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.Inference.Generation;
using Qwen.Serving.Orchestrations;

namespace Qwen.Serving.Batch;

/// <summary>Maps an OpenAI chat-completions body onto <see cref="IChatTurnModel"/> and answers with a <c>chat.completion</c> object.</summary>
/// <remarks>Limitation: a compact mapping (messages, max_tokens, temperature, top_p, stop, seed); tools, n &gt; 1 and streaming are refused with 400.</remarks>
public sealed class ChatCompletionsBatchHandler(IChatTurnModel model, TimeProvider timeProvider) : IBatchRequestHandler
{
    /// <summary>The only URL batch lines may target.</summary>
    public const string ChatCompletionsUrl = "/v1/chat/completions";

    /// <inheritdoc />
    public async Task<BatchItemResponse> HandleAsync(string url, JsonObject body, string requestId, string? owner, CancellationToken cancellationToken)
    {
        if (url != ChatCompletionsUrl)
        {
            return BatchItemResponse.Error(400, "invalid_url", $"The url '{url}' is not supported; batch lines must target {ChatCompletionsUrl}.", "url");
        }
        ChatTurnRequest request;
        try
        {
            request = Map(body);
        }
        catch (BadRequest ex)
        {
            return BatchItemResponse.Error(400, ex.Code, ex.Message, ex.Param);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or JsonException)
        {
            return BatchItemResponse.Error(400, "invalid_value", $"The body has a value of the wrong type: {ex.Message}");
        }

        ChatTurnResult result;
        try
        {
            result = await model.GenerateAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (ContextLengthExceededException ex)
        {
            return BatchItemResponse.Error(400, "context_length_exceeded", ex.Message, "messages");
        }

        return new BatchItemResponse(200, new JsonObject
        {
            ["id"] = "chatcmpl-" + requestId,
            ["object"] = "chat.completion",
            ["created"] = timeProvider.GetUtcNow().ToUnixTimeSeconds(),
            ["model"] = body["model"]?.GetValue<string>() ?? "qwen",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = result.Text.Trim() },
                ["logprobs"] = null,
                ["finish_reason"] = result.FinishReason,
            }),
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = result.PromptTokens,
                ["completion_tokens"] = result.CompletionTokens,
                ["total_tokens"] = result.PromptTokens + result.CompletionTokens,
            },
        });
    }

    private static ChatTurnRequest Map(JsonObject body)
    {
        foreach (var unsupported in new[] { "tools", "functions", "tool_choice", "function_call", "response_format" })
        {
            if (body[unsupported] is not null)
            {
                throw new BadRequest("unsupported_parameter", $"'{unsupported}' is not supported in batch requests.", unsupported);
            }
        }
        if (body["stream"]?.GetValue<bool>() == true)
        {
            throw new BadRequest("unsupported_parameter", "Batch requests cannot stream; remove 'stream'.", "stream");
        }
        if ((body["n"]?.GetValue<int>() ?? 1) != 1)
        {
            throw new BadRequest("unsupported_parameter", "Only n = 1 is supported.", "n");
        }
        if (body["messages"] is not JsonArray { Count: > 0 } array)
        {
            throw new BadRequest("invalid_messages", "'messages' must be a non-empty array.", "messages");
        }

        string? system = null;
        var messages = new List<ChatTurnMessage>();
        for (var i = 0; i < array.Count; i++)
        {
            var role = array[i]?["role"]?.GetValue<string>();
            var content = Content(array[i]?["content"], i);
            switch (role)
            {
                case "system" when i == 0:
                    system = content;
                    break;
                case "user" or "assistant":
                    var expected = messages.Count % 2 == 0 ? "user" : "assistant";
                    if (role != expected)
                    {
                        throw new BadRequest("invalid_messages", $"messages[{i}] has role '{role}' but '{expected}' was expected: turns must alternate user/assistant.", $"messages[{i}].role");
                    }
                    messages.Add(new ChatTurnMessage(role, content));
                    break;
                default:
                    throw new BadRequest("invalid_messages", $"messages[{i}] has role '{role}'; use system (first only), user or assistant.", $"messages[{i}].role");
            }
        }
        if (messages.Count == 0 || messages[^1].Role != "user")
        {
            throw new BadRequest("invalid_messages", "The last message must be from the user.", "messages");
        }

        var maxTokens = (body["max_completion_tokens"] ?? body["max_tokens"])?.GetValue<int>();
        if (maxTokens is < 1)
        {
            throw new BadRequest("invalid_value", $"max_tokens is {maxTokens}; it must be at least 1.", "max_tokens");
        }
        var temperature = body["temperature"]?.GetValue<double>();
        if (temperature is < 0 or > 2)
        {
            throw new BadRequest("invalid_value", $"temperature is {temperature}; use 0 to 2.", "temperature");
        }
        var topP = body["top_p"]?.GetValue<double>();
        if (topP is <= 0 or > 1)
        {
            throw new BadRequest("invalid_value", $"top_p is {topP}; use a value in (0, 1].", "top_p");
        }
        var stop = body["stop"] switch
        {
            null => [],
            JsonValue v => [v.GetValue<string>()],
            JsonArray a => a.Select(s => s?.GetValue<string>() ?? "").ToArray(),
            _ => throw new BadRequest("invalid_value", "stop must be a string or an array of strings.", "stop"),
        };
        if (stop.Length > 4 || stop.Any(string.IsNullOrEmpty))
        {
            throw new BadRequest("invalid_value", "stop takes up to 4 non-empty strings.", "stop");
        }
        return new ChatTurnRequest
        {
            System = system,
            Messages = messages,
            Stop = stop,
            MaxTokens = maxTokens,
            Temperature = temperature,
            TopP = topP,
            Seed = body["seed"]?.GetValue<long>(),
        };
    }

    private static string Content(JsonNode? content, int index)
    {
        switch (content)
        {
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return value.GetValue<string>();
            case JsonArray parts:
                var text = new StringBuilder();
                foreach (var part in parts)
                {
                    if (part?["type"]?.GetValue<string>() != "text")
                    {
                        throw new BadRequest("invalid_messages", $"messages[{index}].content has a part that is not text; Qwen-7B reads text only.", $"messages[{index}].content");
                    }
                    text.Append(part["text"]?.GetValue<string>());
                }
                return text.ToString();
            default:
                throw new BadRequest("invalid_messages", $"messages[{index}].content must be a string or an array of text parts.", $"messages[{index}].content");
        }
    }

    private sealed class BadRequest(string code, string message, string? param) : Exception(message)
    {
        public string Code { get; } = code;
        public string? Param { get; } = param;
    }
}
