using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Qwen.Serving.Batch;
using Qwen.Serving.Tests.ModelCache;
using Qwen.Testing;

namespace Qwen.Serving.Tests.Batch;

public sealed class BatchProcessorTests : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly BlobContainerClient _container =
        new(AzuriteFixture.ConnectionString, AzuriteFixture.UniqueName("batches"), BlobModelCacheTests.AzuriteClientOptions());
    private readonly EchoChatTurnModel _model = new();

    public BatchProcessorTests(AzuriteFixture azurite) => _ = azurite;

    public async Task InitializeAsync() => await _container.CreateAsync();

    public async Task DisposeAsync() => await _container.DeleteIfExistsAsync();

    private BatchProcessor NewProcessor() => new(_container, new ChatCompletionsBatchHandler(_model, new FixedClock(Now)), new BatchOptions { MaxConcurrency = 3 }, new FixedClock(Now));

    private static string Request(string customId, string content, string extra = "")
        => $$$"""{"custom_id": "{{{customId}}}", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "qwen-7b-chat", "messages": [{"role": "user", "content": "{{{content}}}"}]{{{extra}}}}}""";

    private async Task<string[]> ReadLinesAsync(string name)
        => (await _container.GetBlobClient(name).DownloadContentAsync()).Value.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Process_MixedLines_SuccessesToOutputAndEveryFailureToErrorFileWithCustomId()
    {
        var input = string.Join("\n",
            Request("req-1", "hello"),
            Request("req-2", "boom"),
            "",
            Request("req-3", "hot", ", \"temperature\": 5"),
            "{not json",
            Request("req-1", "again"),
            """{"custom_id": "req-5", "method": "POST", "url": "/v1/embeddings", "body": {"input": "x"}}""",
            Request("req-6", "bye", ", \"max_tokens\": 7")) + "\n";
        await _container.GetBlobClient("in/b1.jsonl").UploadAsync(BinaryData.FromString(input));

        var summary = await NewProcessor().ProcessAsync("""{"batchId": "b1", "inputBlob": "in/b1.jsonl"}""");

        Assert.Equal(new BatchSummary
        {
            BatchId = "b1", InputBlob = "in/b1.jsonl", Status = "completed", Total = 7, Succeeded = 2, Failed = 5,
            OutputBlob = "b1/output.jsonl", ErrorBlob = "b1/errors.jsonl", CompletedAt = Now,
        }, summary);

        var output = await ReadLinesAsync("b1/output.jsonl");
        Assert.Equal(2, output.Length);
        Assert.Equal(
            """{"id":"batch_req_b1_1","custom_id":"req-1","response":{"status_code":200,"request_id":"batch_req_b1_1","body":{"id":"chatcmpl-batch_req_b1_1","object":"chat.completion","created":1714564800,"model":"qwen-7b-chat","choices":[{"index":0,"message":{"role":"assistant","content":"echo: hello"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":11,"total_tokens":16}}},"error":null}""",
            output[0]);
        Assert.Equal("req-6", JsonNode.Parse(output[1])!["custom_id"]!.GetValue<string>());
        Assert.Equal("batch_req_b1_8", JsonNode.Parse(output[1])!["id"]!.GetValue<string>());

        var errors = (await ReadLinesAsync("b1/errors.jsonl")).Select(l => JsonNode.Parse(l)!).ToArray();
        Assert.Equal(
            [("req-2", "server_error"), ("req-3", "invalid_value"), (null, "invalid_json"), ("req-1", "duplicate_custom_id"), ("req-5", "invalid_url")],
            errors.Select(e => (e["custom_id"]?.GetValue<string>(), e["error"]!["code"]!.GetValue<string>())).ToArray());
        Assert.Equal("The engine failed on purpose.", errors[0]["error"]!["message"]!.GetValue<string>());
        Assert.Equal(500, errors[0]["response"]!["status_code"]!.GetValue<int>());
        Assert.Equal("temperature is 5; use 0 to 2.", errors[1]["error"]!["message"]!.GetValue<string>());
        Assert.Equal(400, errors[1]["response"]!["status_code"]!.GetValue<int>());
        Assert.Equal("temperature", errors[1]["response"]!["body"]!["error"]!["param"]!.GetValue<string>());
        Assert.StartsWith("Line 5 is not valid JSON:", errors[2]["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(errors[2]["response"]);
        Assert.Equal("Line 6 repeats custom_id 'req-1'; each line needs a unique one.", errors[3]["error"]!["message"]!.GetValue<string>());
        Assert.Equal(3, _model.Calls); // hello, boom, bye; invalid lines never reach the model
    }

    [Fact]
    public async Task Process_Redelivered_SkipsWithoutRerunningOrRewriting()
    {
        await _container.GetBlobClient("in/b2.jsonl").UploadAsync(BinaryData.FromString(Request("a", "one") + "\n" + Request("b", "two")));
        var first = await NewProcessor().ProcessAsync(new BatchMessage("b2", "in/b2.jsonl"));
        var etag = (await _container.GetBlobClient("b2/output.jsonl").GetPropertiesAsync()).Value.ETag;

        var second = await NewProcessor().ProcessAsync(new BatchMessage("b2", "in/b2.jsonl"));

        Assert.False(first.AlreadyDone);
        Assert.True(second.AlreadyDone);
        Assert.Equal(first, second with { AlreadyDone = false });
        Assert.Equal(2, _model.Calls);
        Assert.Equal(etag, (await _container.GetBlobClient("b2/output.jsonl").GetPropertiesAsync()).Value.ETag);
    }

    [Fact]
    public async Task Process_InterruptedBeforeSummary_RedeliveryRedoesTheWholeBatch()
    {
        await _container.GetBlobClient("in/b3.jsonl").UploadAsync(BinaryData.FromString(Request("a", "one")));
        // A crash after the output but before the summary: the output alone must not count as done.
        await _container.GetBlobClient("b3/output.jsonl").UploadAsync(BinaryData.FromString("partial"));

        var summary = await NewProcessor().ProcessAsync(new BatchMessage("b3", "in/b3.jsonl"));

        Assert.False(summary.AlreadyDone);
        Assert.Equal(1, summary.Succeeded);
        Assert.Equal("a", JsonNode.Parse(Assert.Single(await ReadLinesAsync("b3/output.jsonl")))!["custom_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Process_MissingInputBlob_RecordsFailedSummaryInsteadOfThrowing()
    {
        var summary = await NewProcessor().ProcessAsync(new BatchMessage("b4", "in/missing.jsonl"));

        Assert.Equal("failed", summary.Status);
        Assert.Equal($"The input blob {_container.Uri}/in/missing.jsonl does not exist; upload the JSONL file before queueing the batch.", summary.Error);
        var stored = (await _container.GetBlobClient("b4/summary.json").DownloadContentAsync()).Value.Content.ToObjectFromJson<BatchSummary>();
        Assert.Equal(summary, stored);
    }

    [Theory]
    [InlineData("not json", "The batch queue message is not JSON {\"batchId\", \"inputBlob\"}:")]
    [InlineData("{\"batchId\": \"x\"}", "The batch queue message needs both \"batchId\" and \"inputBlob\".")]
    [InlineData("{\"batchId\": \"../etc\", \"inputBlob\": \"a\"}", "The batchId '../etc' must be 1–128 letters, digits, '-' or '_' (it names a blob folder).")]
    public void ParseMessage_Malformed_FormatExceptionSaysWhat(string message, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => BatchProcessor.ParseMessage(message));
        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poison_ValidMessage_RecordsFailedSummaryWithDequeueCount()
    {
        var processor = NewProcessor();
        var poison = new BatchPoisonProcessor(processor, _container, new FixedClock(Now));

        var written = await poison.RecordAsync("""{"batchId": "b5", "inputBlob": "in/b5.jsonl"}""", dequeueCount: 5);

        Assert.Equal("b5/summary.json", written);
        var summary = await processor.ReadSummaryAsync("b5");
        Assert.Equal("failed", summary!.Status);
        Assert.Equal("The batch message failed 5 times and was moved to the poison queue; see the worker logs for the cause, then queue the batch again.", summary.Error);
        // Redelivery after the poison record is a no-op too.
        Assert.True((await processor.ProcessAsync(new BatchMessage("b5", "in/b5.jsonl"))).AlreadyDone);
        Assert.Equal(0, _model.Calls);
    }

    [Fact]
    public async Task Poison_CompletedBatch_LeavesTheSummaryAlone()
    {
        await _container.GetBlobClient("in/b6.jsonl").UploadAsync(BinaryData.FromString(Request("a", "one")));
        var processor = NewProcessor();
        await processor.ProcessAsync(new BatchMessage("b6", "in/b6.jsonl"));

        var written = await new BatchPoisonProcessor(processor, _container).RecordAsync("""{"batchId": "b6", "inputBlob": "in/b6.jsonl"}""", 5);

        Assert.Null(written);
        Assert.Equal("completed", (await processor.ReadSummaryAsync("b6"))!.Status);
    }

    [Fact]
    public async Task Poison_UnreadableMessage_KeptUnderPoisonFolder()
    {
        var written = await new BatchPoisonProcessor(NewProcessor(), _container, new FixedClock(Now)).RecordAsync("garbage", 5);

        Assert.Equal("poison/" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("garbage"u8.ToArray())) + ".json", written);
        var record = JsonNode.Parse((await _container.GetBlobClient(written).DownloadContentAsync()).Value.Content.ToString())!;
        Assert.Equal("garbage", record["message"]!.GetValue<string>());
        Assert.Equal(5, record["dequeue_count"]!.GetValue<long>());
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
