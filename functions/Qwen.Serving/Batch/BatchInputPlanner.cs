using System.Buffers;
using System.Text;
using System.Text.Json;
using Qwen.Serving.Http;

namespace Qwen.Serving.Batch;

/// <summary>Validates a batch input file line by line (one pass, streaming) and splits it into chunks.</summary>
/// <remarks>
/// Structural faults refuse the whole batch at create time with the line numbers: a line that is not a JSON object,
/// a missing or repeated <c>custom_id</c>, a method other than POST, a <c>url</c> other than the batch's endpoint, a
/// missing <c>body</c>, too many lines. Faults inside a body (a bad temperature, no messages) are the endpoint's to
/// judge: those requests end in the error file and the rest of the batch runs.
/// </remarks>
public static class BatchInputPlanner
{
    /// <summary>The endpoints a batch may target.</summary>
    public static readonly IReadOnlyList<string> Endpoints = ["/v1/chat/completions", "/v1/completions"];

    /// <summary>At most this many problems are named in the error message.</summary>
    public const int MaxReportedProblems = 5;

    /// <summary>Reads <paramref name="input"/> and returns the chunk plan.</summary>
    /// <exception cref="OpenAiException">400 naming the first problems and their line numbers.</exception>
    public static async Task<(int Total, List<BatchChunk> Chunks)> PlanAsync(Stream input, string endpoint, BatchOptions options, CancellationToken cancellationToken = default)
    {
        var problems = new List<BatchError>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var chunks = new List<BatchChunk>();
        BatchChunk? open = null;
        var total = 0;
        var lineNumber = 0;
        long offset = 0;
        var line = new ArrayBufferWriter<byte>(4096);
        var buffer = new byte[64 * 1024];
        int read;
        var atEnd = false;
        while (!atEnd)
        {
            read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            atEnd = read == 0;
            var span = buffer.AsSpan(0, read);
            while (true)
            {
                var newline = span.IndexOf((byte)'\n');
                if (newline < 0 && !atEnd)
                {
                    line.Write(span);
                    break;
                }
                if (newline >= 0)
                {
                    line.Write(span[..(newline + 1)]);
                    span = span[(newline + 1)..];
                }
                if (line.WrittenCount == 0)
                {
                    break; // end of input right after a newline
                }
                lineNumber++;
                var bytes = line.WrittenSpan;
                if (!IsBlank(bytes))
                {
                    var problem = Check(bytes, lineNumber, endpoint, seen);
                    if (problem is not null)
                    {
                        problems.Add(problem);
                    }
                    total++;
                    if (total > options.MaxLines)
                    {
                        throw new OpenAiException(400,
                            $"The input file has more than {options.MaxLines:N0} requests (line {lineNumber} is request {total:N0}); a batch holds at most {options.MaxLines:N0}. Split the file.",
                            "invalid_request_error", "input_file_id", "too_many_requests");
                    }
                    if (open is null || open.Count >= options.ChunkSize)
                    {
                        if (open is not null)
                        {
                            chunks.Add(open);
                        }
                        open = new BatchChunk { FirstIndex = total - 1, Count = 0, FirstLine = lineNumber, Offset = offset, Length = 0 };
                    }
                    open = open with { Count = open.Count + 1, Length = offset + bytes.Length - open.Offset };
                }
                offset += bytes.Length;
                line.ResetWrittenCount();
                if (newline < 0)
                {
                    break;
                }
            }
        }
        if (open is not null)
        {
            chunks.Add(open);
        }
        if (problems.Count > 0)
        {
            var shown = problems.Take(MaxReportedProblems).Select(p => p.Message);
            var more = problems.Count > MaxReportedProblems ? $" (and {problems.Count - MaxReportedProblems} more)" : "";
            throw new OpenAiException(400, $"The input file has {problems.Count} invalid line(s): {string.Join(" ", shown)}{more}",
                "invalid_request_error", "input_file_id", problems[0].Code);
        }
        if (total == 0)
        {
            throw new OpenAiException(400, "The input file has no requests: upload JSONL with one request object per line.", "invalid_request_error", "input_file_id", "empty_file");
        }
        return (total, chunks);
    }

    private static BatchError? Check(ReadOnlySpan<byte> bytes, int number, string endpoint, HashSet<string> seen)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes.ToArray());
        }
        catch (JsonException ex)
        {
            return new BatchError("invalid_json_line", $"Line {number} is not valid JSON ({ex.Message}).", null, number);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new BatchError("invalid_json_line", $"Line {number} is not a JSON object.", null, number);
            }
            if (!root.TryGetProperty("custom_id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString() is not { Length: > 0 } customId)
            {
                return new BatchError("missing_custom_id", $"Line {number} has no string \"custom_id\".", "custom_id", number);
            }
            if (!seen.Add(customId))
            {
                return new BatchError("duplicate_custom_id", $"Line {number} repeats custom_id '{customId}'; each request needs a unique one.", "custom_id", number);
            }
            if (!root.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String || method.GetString() != "POST")
            {
                return new BatchError("invalid_method", $"Line {number} needs \"method\": \"POST\".", "method", number);
            }
            var url = root.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
            if (url != endpoint)
            {
                return Endpoints.Contains(url)
                    ? new BatchError("mismatched_url", $"Line {number} targets '{url}' but the batch's endpoint is '{endpoint}'; one batch holds one endpoint.", "url", number)
                    : new BatchError("unsupported_url", $"Line {number} targets '{url}'; batches support {string.Join(" and ", Endpoints)}.", "url", number);
            }
            if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
            {
                return new BatchError("invalid_body", $"Line {number} has no JSON object \"body\".", "body", number);
            }
        }
        return null;
    }

    private static bool IsBlank(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Splits the bytes of a chunk back into its request lines (blank lines skipped), with their file line numbers.</summary>
    public static List<(int Index, int LineNumber, string Text)> SplitChunk(byte[] bytes, BatchChunk chunk)
    {
        var result = new List<(int, int, string)>(chunk.Count);
        var text = Encoding.UTF8.GetString(bytes);
        var lineNumber = chunk.FirstLine;
        var index = chunk.FirstIndex;
        foreach (var raw in text.Split('\n'))
        {
            if (!string.IsNullOrWhiteSpace(raw))
            {
                result.Add((index++, lineNumber, raw.TrimEnd('\r')));
            }
            lineNumber++;
        }
        return result;
    }
}
