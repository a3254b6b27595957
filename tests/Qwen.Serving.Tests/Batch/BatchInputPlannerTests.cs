using System.Text;
using Qwen.Serving.Batch;
using Qwen.Serving.Http;
using static Qwen.Serving.Tests.Batch.BatchTestBed;

namespace Qwen.Serving.Tests.Batch;

public sealed class BatchInputPlannerTests
{
    private const string Chat = "/v1/chat/completions";

    private static Task<(int Total, List<BatchChunk> Chunks)> PlanAsync(string text, BatchOptions? options = null)
        => BatchInputPlanner.PlanAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), Chat, options ?? new BatchOptions());

    [Fact]
    public async Task Plan_ValidFileWithBlankLinesAndCrLf_ChunkRangesHoldExactlyTheirRequests()
    {
        var text = Request("a", "1") + "\r\n\r\n" + Request("b", "2") + "\n" + Request("c", "3") + "\n\n" + Request("d", "4") + "\n" + Request("e", "é5");
        var bytes = Encoding.UTF8.GetBytes(text);

        var (total, chunks) = await PlanAsync(text, new BatchOptions { ChunkSize = 2 });

        Assert.Equal(5, total);
        Assert.Equal([(0, 2, 1), (2, 2, 4), (4, 1, 7)], chunks.Select(c => (c.FirstIndex, c.Count, c.FirstLine)));
        var split = chunks.SelectMany(c => BatchInputPlanner.SplitChunk(bytes.AsSpan((int)c.Offset, (int)c.Length).ToArray(), c)).ToList();
        Assert.Equal([0, 1, 2, 3, 4], split.Select(s => s.Index));
        Assert.Equal([1, 3, 4, 6, 7], split.Select(s => s.LineNumber));
        Assert.Equal([Request("a", "1"), Request("b", "2"), Request("c", "3"), Request("d", "4"), Request("e", "é5")], split.Select(s => s.Text));
    }

    [Theory]
    [InlineData("{not json", "invalid_json_line", "Line 2 is not valid JSON")]
    [InlineData("[1, 2]", "invalid_json_line", "Line 2 is not a JSON object.")]
    [InlineData("""{"method": "POST", "url": "/v1/chat/completions", "body": {}}""", "missing_custom_id", "Line 2 has no string \"custom_id\".")]
    [InlineData("""{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}""", "duplicate_custom_id", "Line 2 repeats custom_id 'a'; each request needs a unique one.")]
    [InlineData("""{"custom_id": "b", "method": "GET", "url": "/v1/chat/completions", "body": {}}""", "invalid_method", "Line 2 needs \"method\": \"POST\".")]
    [InlineData("""{"custom_id": "b", "method": "POST", "url": "/v1/completions", "body": {}}""", "mismatched_url", "Line 2 targets '/v1/completions' but the batch's endpoint is '/v1/chat/completions'; one batch holds one endpoint.")]
    [InlineData("""{"custom_id": "b", "method": "POST", "url": "/v1/embeddings", "body": {}}""", "unsupported_url", "Line 2 targets '/v1/embeddings'; batches support /v1/chat/completions and /v1/completions.")]
    [InlineData("""{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions"}""", "invalid_body", "Line 2 has no JSON object \"body\".")]
    public async Task Plan_InvalidLine_400WithCodeAndLineNumber(string line, string code, string message)
    {
        var ex = await Assert.ThrowsAsync<OpenAiException>(() => PlanAsync(Request("a", "1") + "\n" + line + "\n" + Request("c", "3")));

        Assert.Equal(400, ex.StatusCode);
        Assert.Equal(code, ex.Code);
        Assert.Equal("input_file_id", ex.Param);
        Assert.StartsWith("The input file has 1 invalid line(s): " + message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_ManyInvalidLines_NamesTheFirstFiveAndCountsTheRest()
    {
        var text = string.Join("\n", Enumerable.Range(0, 8).Select(_ => "oops"));

        var ex = await Assert.ThrowsAsync<OpenAiException>(() => PlanAsync(text));

        Assert.StartsWith("The input file has 8 invalid line(s): Line 1 is not valid JSON", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Line 5 is not valid JSON", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Line 6", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("(and 3 more)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_TooManyRequests_400NamesTheLimit()
    {
        var text = string.Join("\n", Enumerable.Range(0, 4).Select(i => Request($"r{i}", "x")));

        var ex = await Assert.ThrowsAsync<OpenAiException>(() => PlanAsync(text, new BatchOptions { MaxLines = 3 }));

        Assert.Equal("too_many_requests", ex.Code);
        Assert.Equal("The input file has more than 3 requests (line 4 is request 4); a batch holds at most 3. Split the file.", ex.Message);
    }

    [Fact]
    public async Task Plan_NoRequests_400EmptyFile()
    {
        var ex = await Assert.ThrowsAsync<OpenAiException>(() => PlanAsync("\n  \n"));
        Assert.Equal("empty_file", ex.Code);
    }
}
