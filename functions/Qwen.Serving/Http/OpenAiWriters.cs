using System.Security.Cryptography;
using System.Text.Json;
using Qwen.Inference.Generation;
using Qwen.Inference.Scoring;
using Qwen.Inference.Tokenization;

namespace Qwen.Serving.Http;

/// <summary>Response pieces shared by the chat and completions handlers: usage, log-probabilities, tool calls, ids.</summary>
internal static class OpenAiWriters
{
    /// <summary>400 when an id is outside the vocabulary.</summary>
    internal static void CheckTokenIds(IReadOnlyList<int> ids, string param)
    {
        foreach (var id in ids)
        {
            if (id < 0 || id >= QwenTokenizer.VocabCount)
            {
                throw OpenAiException.Invalid(param, $"Token id {id} in '{param}' is outside the vocabulary (0 to {QwenTokenizer.VocabCount - 1}).");
            }
        }
    }

    internal static void WriteToolCall(Utf8JsonWriter w, bool legacy, AssistantReply reply, string callId, bool streaming)
    {
        if (legacy)
        {
            w.WriteStartObject("function_call");
            w.WriteString("name", reply.ToolName);
            w.WriteString("arguments", reply.ToolArguments ?? "{}");
            w.WriteEndObject();
            return;
        }
        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        if (streaming)
        {
            w.WriteNumber("index", 0);
        }
        w.WriteString("id", callId);
        w.WriteString("type", "function");
        w.WriteStartObject("function");
        w.WriteString("name", reply.ToolName);
        w.WriteString("arguments", reply.ToolArguments ?? "{}");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
    }

    // A call cut off by max_tokens has incomplete arguments: "length" says so, as OpenAI does.
    internal static string FinishText(FinishReason finish, bool toolCall, bool legacy) =>
        finish == FinishReason.Length ? "length"
        : toolCall ? (legacy ? "function_call" : "tool_calls")
        : "stop";

    internal static void WriteUsage(Utf8JsonWriter w, int promptTokens, IReadOnlyList<GenerationResult> results)
    {
        var completion = results.Sum(r => r.Usage.CompletionTokens);
        var cached = results.Count == 0 ? 0 : results.Max(r => r.Usage.CachedPromptTokens);
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", promptTokens);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", promptTokens + completion);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", cached);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    internal static void WriteChatLogprobs(Utf8JsonWriter w, QwenTokenizer tokenizer, IReadOnlyList<GeneratedToken> tokens)
    {
        w.WriteStartObject("logprobs");
        w.WriteStartArray("content");
        foreach (var t in tokens)
        {
            w.WriteStartObject();
            WriteTokenLogprob(w, tokenizer, t.Id, t.Logprob);
            w.WriteStartArray("top_logprobs");
            foreach (var alt in t.TopLogprobs)
            {
                w.WriteStartObject();
                WriteTokenLogprob(w, tokenizer, alt.Id, alt.Logprob);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("refusal");
        w.WriteEndObject();
    }

    private static void WriteTokenLogprob(Utf8JsonWriter w, QwenTokenizer tokenizer, int id, float logprob)
    {
        w.WriteString("token", tokenizer.Decode([id]));
        w.WriteNumber("logprob", float.IsFinite(logprob) ? logprob : -9999f);
        w.WriteStartArray("bytes");
        foreach (var b in tokenizer.GetTokenBytes(id))
        {
            w.WriteNumberValue(b);
        }
        w.WriteEndArray();
    }

    /// <summary>
    /// OpenAI legacy <c>logprobs</c>: the scored prompt tokens first when echoed (the first one with null log-probability
    /// and null top_logprobs, as vLLM and lm-evaluation-harness expect), then the generated tokens.
    /// </summary>
    internal static void WriteLegacyLogprobs(Utf8JsonWriter w, QwenTokenizer tokenizer, IReadOnlyList<PromptTokenScore>? prompt,
        IReadOnlyList<GeneratedToken> tokens, int offset)
    {
        var entries = new List<(int Id, double? Logprob, IReadOnlyList<TokenLogprob>? Top, bool Generated)>();
        foreach (var p in prompt ?? [])
        {
            entries.Add((p.Id, p.Logprob, p.Logprob is null ? null : p.TopLogprobs, false));
        }
        foreach (var t in tokens)
        {
            entries.Add((t.Id, t.Logprob, t.TopLogprobs, true));
        }
        var textOffset = prompt is null ? offset : 0;
        w.WriteStartObject("logprobs");
        w.WriteStartArray("tokens");
        foreach (var e in entries)
        {
            w.WriteStringValue(tokenizer.Decode([e.Id]));
        }
        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        foreach (var e in entries)
        {
            if (e.Logprob is { } lp)
            {
                if (e.Generated)
                {
                    w.WriteNumberValue(float.IsFinite((float)lp) ? (float)lp : -9999f); // the sampler's float32 value, written as before
                }
                else
                {
                    w.WriteNumberValue(double.IsFinite(lp) ? lp : -9999.0);
                }
            }
            else
            {
                w.WriteNullValue();
            }
        }
        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var e in entries)
        {
            if (e.Top is null)
            {
                w.WriteNullValue();
                continue;
            }
            w.WriteStartObject();
            foreach (var alt in e.Top)
            {
                // Two ids can decode to the same text (partial UTF-8): the first (more likely) one is kept, so the object has unique keys.
                var key = tokenizer.Decode([alt.Id]);
                if (!e.Top.TakeWhile(a => a.Id != alt.Id).Any(a => tokenizer.Decode([a.Id]) == key))
                {
                    w.WriteNumber(key, alt.Logprob);
                }
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        foreach (var e in entries)
        {
            w.WriteNumberValue(textOffset);
            textOffset += tokenizer.Decode([e.Id]).Length;
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    internal static string NewId(string prefix)
    {
        Span<byte> bytes = stackalloc byte[12];
        RandomNumberGenerator.Fill(bytes);
        return prefix + Convert.ToHexStringLower(bytes);
    }
}
