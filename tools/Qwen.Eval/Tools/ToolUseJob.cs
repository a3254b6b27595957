using System.Text.Json;
using System.Text.Json.Serialization;

namespace Qwen.Eval.Tools;

/// <summary>
/// One job of the seed's tool-use benchmark (exam_plugin_*_react_*.jsonl): a ReAct-formatted query, and for a
/// positive job the golden response (<c>Thought/Action/Action Input</c>). A job without a response needs no tool.
/// </summary>
public sealed record ToolUseJob
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Optional identifier, shown in the per-job results.</summary>
    public string? Id { get; init; }

    /// <summary>The full ReAct prompt (instruction, tool descriptions, "Question: …"), sent as the user message.</summary>
    public required string Prompt { get; init; }

    /// <summary>The golden response of a positive job; null for a negative job (no tool should be called).</summary>
    public string? Response { get; init; }

    /// <summary>Optional language tag (zh, en), for the per-language breakdown.</summary>
    [JsonPropertyName("lang")]
    public string? Language { get; init; }

    /// <summary>True when a tool call is expected.</summary>
    [JsonIgnore]
    public bool IsPositive => Response is not null;

    /// <summary>Reads a JSON Lines file (blank lines skipped).</summary>
    /// <exception cref="InvalidDataException">A line is not a job.</exception>
    public static async Task<IReadOnlyList<ToolUseJob>> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var jobs = new List<ToolUseJob>();
        var number = 0;
        foreach (var line in await File.ReadAllLinesAsync(path, cancellationToken).ConfigureAwait(false))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            try
            {
                jobs.Add(JsonSerializer.Deserialize<ToolUseJob>(line, Json) ?? throw new InvalidDataException("null"));
            }
            catch (JsonException error)
            {
                throw new InvalidDataException($"{path}:{number} is not a tool-use job ({{\"prompt\", \"response\"?}}): {error.Message}", error);
            }
        }
        return jobs;
    }
}
