using System.Text.Json.Nodes;
using Azure.Storage.Queues.Models;
using Qwen.Serving.Batch;
using Qwen.Serving.Batch.Storage;
using Qwen.Serving.Tests.Batch;
using Qwen.Testing;
using Xunit.Abstractions;

namespace Qwen.Functions.Tests.Batch;

/// <summary>The Azure path end to end on Azurite: the Files and Batches HTTP functions, the Storage queue, and the queue-triggered function.</summary>
public sealed class BatchQueueFunctionsTests(AzuriteFixture azurite, ITestOutputHelper log) : IClassFixture<AzuriteFixture>
{
    private readonly AzuriteFixture _ = azurite;

    private static string Line(string id, string content, string extra = "")
        => $$$"""{"custom_id": "{{{id}}}", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "qwen-test", "messages": [{"role": "user", "content": "{{{content}}}"}]{{{extra}}}}}""";

    private static string[] CustomIds(string jsonl)
        => jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["custom_id"]!.GetValue<string>()).ToArray();

    [Fact]
    public async Task AzurePath_FilesBatchesQueueTrigger_OneLinePerCustomIdEqualToOnline()
    {
        await using var host = await AzureBatchHost.StartAsync();
        host.Fake.Respond = r => $"reply to {r.PromptTokens.Count} tokens ending {string.Join(",", r.PromptTokens.TakeLast(8))}";
        var valid = new[] { ("c1", "alpha"), ("c2", "beta gamma"), ("c3", "delta"), ("c4", "你好") };
        var input = string.Join("\n", valid.Select(v => Line(v.Item1, v.Item2))) + "\n" + Line("bad", "x", ", \"temperature\": 5") + "\n";

        var batch = await host.CreateBatchAsync(input);
        var batchId = batch["id"]!.GetValue<string>();
        Assert.Equal("validating", batch["status"]!.GetValue<string>());
        Assert.Equal(3, (await host.Queue.GetPropertiesAsync()).Value.ApproximateMessagesCount); // 5 requests in chunks of 2

        Assert.Equal(0, await host.PumpAsync());
        var done = await host.RetrieveAsync(batchId);

        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Equal((5, 4, 1), (done["request_counts"]!["total"]!.GetValue<int>(), done["request_counts"]!["completed"]!.GetValue<int>(), done["request_counts"]!["failed"]!.GetValue<int>()));
        foreach (var stamp in new[] { "created_at", "in_progress_at", "finalizing_at", "completed_at", "expires_at" })
        {
            Assert.True(done[stamp]!.GetValue<long>() > 0, stamp);
        }
        var outputId = done["output_file_id"]!.GetValue<string>();
        var (status, output) = await host.InvokeAsync(r => host.Api.FileContent(r, outputId), "GET", $"v1/files/{outputId}/content");
        Assert.Equal(200, status);
        Assert.Equal(valid.Select(v => v.Item1), CustomIds(output));
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!))
        {
            var customId = line["custom_id"]!.GetValue<string>();
            var content = valid.Single(v => v.Item1 == customId).Item2;
            var online = await host.JsonAsync(host.Online.ChatCompletions, "POST", "v1/chat/completions",
                AzureBatchHost.JsonContent(new JsonObject { ["model"] = "qwen-test", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }) }));
            var body = line["response"]!["body"]!;
            Assert.Equal(online["choices"]![0]!["message"]!["content"]!.GetValue<string>(), body["choices"]![0]!["message"]!["content"]!.GetValue<string>());
            Assert.Equal(online["usage"]!.ToJsonString(), body["usage"]!.ToJsonString());
        }
        var errorId = done["error_file_id"]!.GetValue<string>();
        var (_, errors) = await host.InvokeAsync(r => host.Api.FileContent(r, errorId), "GET", $"v1/files/{errorId}/content");
        var error = JsonNode.Parse(errors.Trim())!;
        Assert.Equal(("bad", 400, "temperature"), (error["custom_id"]!.GetValue<string>(), error["response"]!["status_code"]!.GetValue<int>(), error["response"]!["body"]!["error"]!["param"]!.GetValue<string>()));
        Assert.Equal(8, host.Fake.Completed); // 4 batch generations + the 4 online ones: nothing ran twice
    }

    [Fact]
    public async Task AzurePath_MessageRedeliveredAfterTimeout_OnlyUnfinishedRequestsRunAgain()
    {
        await using var host = await AzureBatchHost.StartAsync(new() { ["Qwen:Batch:ChunkSize"] = "8", ["Qwen:Batch:MaxConcurrency"] = "2" });
        host.Fake.TokenDelay = TimeSpan.FromMilliseconds(20);
        host.Fake.Respond = _ => "one two three four five six seven eight";
        var ids = Enumerable.Range(1, 6).Select(i => $"r{i}").ToArray();
        var batchId = (await host.CreateBatchAsync(string.Join("\n", ids.Select(id => Line(id, "line-" + id)))))["id"]!.GetValue<string>();
        var linesPrefix = BatchStore.LinesPrefix(batchId);
        async Task<int> PersistedAsync() => await host.Container.GetBlobsAsync(prefix: linesPrefix).CountAsync();

        // Delivery 1: the host stops waiting (function timeout) after some requests finished; the message stays in the queue.
        QueueMessage first = (await host.Queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(2))).Value[0];
        using var timeout = new CancellationTokenSource();
        var run = host.Triggers.Generate(first, timeout.Token);
        while (await PersistedAsync() < 2)
        {
            await Task.Delay(20);
        }
        await timeout.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        var finishedBefore = await PersistedAsync();
        var doneBefore = new List<string>();
        await foreach (var blob in host.Container.GetBlobsAsync(prefix: linesPrefix))
        {
            var line = JsonNode.Parse((await host.Container.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString())!;
            doneBefore.Add(line["custom_id"]!.GetValue<string>());
        }
        var generatedBefore = host.Fake.Completed;
        var requestsBefore = host.Fake.Requests.Count;

        // Delivery 2, once the visibility timeout has passed.
        QueueMessage[] again = [];
        for (var i = 0; i < 100 && again.Length == 0; i++)
        {
            await Task.Delay(100);
            again = (await host.Queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30))).Value;
        }
        var second = Assert.Single(again);
        Assert.Equal(2, second.DequeueCount);
        var outcome = await host.Triggers.Generate(second, default);
        await host.Queue.DeleteMessageAsync(second.MessageId, second.PopReceipt);

        log.WriteLine($"timed out with {finishedBefore}/6 requests persisted; the redelivery ran {outcome!.RequestsRun}");
        Assert.Equal(6 - finishedBefore, outcome.RequestsRun);
        Assert.Equal(6 - finishedBefore, host.Fake.Completed - generatedBefore);
        var done = await host.RetrieveAsync(batchId);
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        var outputId = done["output_file_id"]!.GetValue<string>();
        Assert.Equal(ids, CustomIds((await host.InvokeAsync(r => host.Api.FileContent(r, outputId), "GET", "x")).Body));
        // The requests of the second delivery are exactly those without a result: none finished before is generated again.
        var rerun = host.Fake.Requests.Skip(requestsBefore).Select(q => AzureBatchHost.Tokenizer.Decode(q.PromptTokens)).ToArray();
        Assert.Equal(6 - finishedBefore, rerun.Length);
        Assert.All(doneBefore, id => Assert.DoesNotContain(rerun, prompt => prompt.Contains("line-" + id + "<", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AzurePath_ChunkKeepsFailing_PoisonRecordsTheRealDequeueCount()
    {
        await using var host = await AzureBatchHost.StartAsync(wrapStorage: s => new FailingLineWrites(s));
        var batchId = (await host.CreateBatchAsync(Line("a", "x")))["id"]!.GetValue<string>();

        var failures = await host.PumpAsync(); // five real deliveries (DequeueCount 1..5), then the host's move to -poison
        QueueMessage poisoned = (await host.PoisonQueue.ReceiveMessagesAsync(1)).Value.Single();
        var written = await host.Triggers.Poison(poisoned, default);

        Assert.Equal(5, failures);
        Assert.Equal(1, poisoned.DequeueCount); // the poison queue's own count: not the figure to report
        Assert.Equal(BatchStore.BatchName(batchId), written);
        var batch = await host.RetrieveAsync(batchId);
        Assert.Equal("failed", batch["status"]!.GetValue<string>());
        var error = batch["errors"]!["data"]![0]!;
        Assert.Equal("poisoned_message", error["code"]!.GetValue<string>());
        Assert.Equal("Chunk 0 failed 5 times and its message was moved to the poison queue. The last error was: Storage refused the write.", error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Generate_UnreadableMessage_KeptWithItsDequeueCountAndAcknowledged()
    {
        await using var host = await AzureBatchHost.StartAsync();
        await host.Queue.SendMessageAsync("garbage");
        QueueMessage message = (await host.Queue.ReceiveMessagesAsync(1)).Value.Single();

        var outcome = await host.Triggers.Generate(message, default);

        Assert.Null(outcome);
        var name = "poison/" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("garbage"u8.ToArray())) + ".json";
        var record = JsonNode.Parse((await host.Container.GetBlobClient(name).DownloadContentAsync()).Value.Content.ToString())!;
        Assert.Equal(1, record["dequeue_count"]!.GetValue<long>());
        Assert.StartsWith("The batch queue message is not JSON", record["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateBatch_OversizedInput_RefusedFromBlobPropertiesWithoutDownload()
    {
        await using var host = await AzureBatchHost.StartAsync(new() { ["Qwen:Batch:MaxInputBytes"] = "2000" });
        // A file bigger than the limit that reached storage another way (uploaded before the limit was lowered).
        var store = new BatchStore(new BlobBatchStorage(host.Container));
        var big = string.Join("\n", Enumerable.Range(0, 30).Select(i => Line($"r{i}", "x")));
        var caller = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        caller.Request.Headers["api-key"] = AzureBatchHost.Key; // the file belongs to the tenant that then creates the batch
        var file = await store.CreateFileAsync("big.jsonl", "batch", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(big)), default, Qwen.Serving.Http.CallerIdentity.Owner(caller));
        host.BlobRequests.Clear();

        var (status, body) = await host.InvokeAsync(host.Api.CreateBatch, "POST", "v1/batches",
            AzureBatchHost.JsonContent(new JsonObject { ["input_file_id"] = file.Id, ["endpoint"] = "/v1/chat/completions", ["completion_window"] = "24h" }));

        Assert.Equal(400, status);
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Equal("file_too_large", error["code"]!.GetValue<string>());
        Assert.Equal($"The file {file.Id} has {file.Bytes:N0} bytes; a batch reads at most 2,000. Split it.", error["message"]!.GetValue<string>());
        var data = host.Container.GetBlobClient(BatchStore.FileDataName(file.Id)).Uri.AbsolutePath.TrimStart('/'); // as the pipeline sees it: no leading slash
        Assert.Contains($"HEAD {data}", host.BlobRequests.Requests);
        Assert.DoesNotContain($"GET {data}", host.BlobRequests.Requests);
        Assert.Equal(0, (await host.Queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }
}
