using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Qwen.Functions.Batch;
using Qwen.Serving.Batch;
using Qwen.Serving.Orchestrations;
using Qwen.Testing;

namespace Qwen.Functions.Tests.Batch;

public sealed class BatchQueueFunctionsTests : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private readonly BlobContainerClient _container = new(AzuriteFixture.ConnectionString, AzuriteFixture.UniqueName("batches"),
        new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_05_05));

    public BatchQueueFunctionsTests(AzuriteFixture azurite) => _ = azurite;

    public async Task InitializeAsync() => await _container.CreateAsync();

    public async Task DisposeAsync() => await _container.DeleteIfExistsAsync();

    private BatchQueueFunctions Functions(IChatTurnModel model)
    {
        var processor = new BatchProcessor(_container, new ChatCompletionsBatchHandler(model, TimeProvider.System), new BatchOptions());
        return new BatchQueueFunctions(processor, new BatchPoisonProcessor(processor, _container));
    }

    [Fact]
    public async Task Generate_QueueMessage_WritesOutputAndIsIdempotent()
    {
        var model = new Qwen.Serving.Tests.Orchestrations.ScriptedChatTurnModel { Fallback = "ok" };
        await _container.GetBlobClient("in.jsonl").UploadAsync(BinaryData.FromString(
            """{"custom_id": "c1", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}}""" + "\n" +
            """{"custom_id": "c2", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}}"""));
        var functions = Functions(model);

        var summary = await functions.Generate("""{"batchId": "f1", "inputBlob": "in.jsonl"}""", default);
        var again = await functions.Generate("""{"batchId": "f1", "inputBlob": "in.jsonl"}""", default);

        Assert.Equal((2, 1, 1), (summary.Total, summary.Succeeded, summary.Failed));
        Assert.True(again.AlreadyDone);
        Assert.Single(model.Requests);
        var error = JsonNode.Parse((await _container.GetBlobClient("f1/errors.jsonl").DownloadContentAsync()).Value.Content.ToString().Trim())!;
        Assert.Equal("c2", error["custom_id"]!.GetValue<string>());
        Assert.Equal("'messages' must be a non-empty array.", error["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Generate_MalformedMessage_ThrowsSoTheHostRetriesThenPoisonRecords()
    {
        var functions = Functions(new Qwen.Serving.Tests.Orchestrations.ScriptedChatTurnModel());

        await Assert.ThrowsAsync<FormatException>(() => functions.Generate("""{"batchId": "f2"}""", default));
        var recorded = await functions.Poison("""{"batchId": "f2"}""", default);

        Assert.StartsWith("poison/", recorded, StringComparison.Ordinal);
        var record = JsonNode.Parse((await _container.GetBlobClient(recorded).DownloadContentAsync()).Value.Content.ToString())!;
        Assert.Equal(5, record["dequeue_count"]!.GetValue<long>());
        Assert.Equal("The batch queue message needs both \"batchId\" and \"inputBlob\".", record["error"]!.GetValue<string>());
    }
}
