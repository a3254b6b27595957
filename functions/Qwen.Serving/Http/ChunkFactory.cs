using System.Text.Json;

namespace Qwen.Serving.Http;

/// <summary>Builds the JSON of streamed chunks in OpenAI's field order; with include_usage every chunk carries <c>"usage":null</c> until the last.</summary>
public sealed class ChunkFactory(string id, long created, string model, bool includeUsage, string objectName)
{
    /// <summary>A chat.completion.chunk with one choice.</summary>
    public byte[] Chat(int index, Action<Utf8JsonWriter> delta, string? finishReason, Action<Utf8JsonWriter>? logprobs) => OpenAiJson.Build(w =>
    {
        Header(w);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        w.WriteStartObject("delta");
        delta(w);
        w.WriteEndObject();
        if (logprobs is null)
        {
            w.WriteNull("logprobs");
        }
        else
        {
            logprobs(w);
        }
        OpenAiJson.WriteNullable(w, "finish_reason", finishReason);
        w.WriteEndObject();
        w.WriteEndArray();
        Footer(w);
    });

    /// <summary>A text_completion chunk with one choice.</summary>
    public byte[] Text(int index, string text, string? finishReason) => OpenAiJson.Build(w =>
    {
        Header(w);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteString("text", text);
        w.WriteNumber("index", index);
        w.WriteNull("logprobs");
        OpenAiJson.WriteNullable(w, "finish_reason", finishReason);
        w.WriteEndObject();
        w.WriteEndArray();
        Footer(w);
    });

    /// <summary>The final usage chunk: no choices, usage over all of them.</summary>
    public byte[] Usage(int promptTokens, IReadOnlyList<GenerationResult> results) => OpenAiJson.Build(w =>
    {
        Header(w);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        OpenAiWriters.WriteUsage(w, promptTokens, results);
        w.WriteEndObject();
    });

    private void Header(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", objectName);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
    }

    private void Footer(Utf8JsonWriter w)
    {
        if (includeUsage)
        {
            w.WriteNull("usage");
        }
        w.WriteEndObject();
    }
}
