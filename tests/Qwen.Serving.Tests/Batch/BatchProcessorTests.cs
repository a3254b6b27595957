using System.Text.Json.Nodes;
using Qwen.Serving.Batch;
using Qwen.Serving.Batch.Storage;
using Qwen.Testing;
using static Qwen.Serving.Tests.Batch.BatchTestBed;

namespace Qwen.Serving.Tests.Batch;

/// <summary>The chunk processor on both storages: local directory and Blob (Azurite).</summary>
public sealed class BatchProcessorTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly AzuriteFixture _ = azurite;

    public static TheoryData<string> Storages => new() { "local", "blob" };

    private static string CustomId(string line) => JsonNode.Parse(line)!["custom_id"]!.GetValue<string>();

    [Theory]
    [MemberData(nameof(Storages))]
    public async Task Process_WholeBatch_OneLinePerCustomIdAndBadRequestsInErrorFile(string storage)
    {
        await using var bed = await CreateAsync(storage);
        var batch = await bed.SubmitAsync(string.Join("\n",
            Request("a", "one"), Request("b", "boom"), "", Request("c", "hot", ", \"temperature\": 5"),
            Request("d", "four"), Request("e", "five"), Request("f", "six"), Request("g", "seven")) + "\n");
        Assert.Equal(3, batch.Chunks.Count);
        Assert.Equal(3, bed.Queue.Messages.Count);

        var done = await bed.DrainAsync(batch.Id);

        Assert.Equal(BatchStatus.Completed, done.Status);
        Assert.Equal(new BatchChunkCounts(5, 2), done.Counts);
        var output = await bed.ReadFileLinesAsync(done.OutputFileId);
        Assert.Equal(["a", "d", "e", "f", "g"], output.Select(CustomId));
        var first = JsonNode.Parse(output[0])!;
        Assert.Equal(BatchIds.RequestId(batch.Id, 0), first["id"]!.GetValue<string>());
        Assert.Equal(200, first["response"]!["status_code"]!.GetValue<int>());
        Assert.Equal("echo: one", first["response"]!["body"]!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        var errors = (await bed.ReadFileLinesAsync(done.ErrorFileId)).Select(l => JsonNode.Parse(l)!).ToArray();
        Assert.Equal([("b", "server_error"), ("c", "invalid_value")],
            errors.Select(e => (e["custom_id"]!.GetValue<string>(), e["error"]!["code"]!.GetValue<string>())));
        Assert.Equal(400, errors[1]["response"]!["status_code"]!.GetValue<int>());
        Assert.Equal(6, bed.Model.Calls); // the bad temperature never reaches the model
        var file = await bed.Store.GetFileAsync(done.OutputFileId!);
        Assert.Equal("batch_output", file!.Purpose);

        // A late redelivery of any chunk changes nothing.
        await bed.NewProcessor().ProcessAsync(new BatchChunkMessage(batch.Id, 1), dequeueCount: 2);
        Assert.Equal(6, bed.Model.Calls);
        Assert.Equal(output, await bed.ReadFileLinesAsync(done.OutputFileId));
    }

    [Theory]
    [MemberData(nameof(Storages))]
    public async Task Process_RedeliveredAfterTimeout_RunsOnlyUnfinishedRequests(string storage)
    {
        await using var bed = await CreateAsync(storage);
        bed.Options.ChunkSize = 8;
        bed.Options.MaxConcurrency = 2;
        bed.Model.Delay = TimeSpan.FromMilliseconds(150);
        var ids = Enumerable.Range(1, 8).Select(i => $"r{i}").ToArray();
        var batch = await bed.SubmitAsync(string.Join("\n", ids.Select(id => Request(id, id))));
        Assert.True(bed.Queue.Messages.TryDequeue(out var message));

        // First delivery: the host gives up on it (function timeout) after a few requests finished.
        using var timeout = new CancellationTokenSource();
        var first = bed.NewProcessor().ProcessAsync(message, 1, timeout.Token);
        while (bed.Model.Completed.Count < 3)
        {
            await Task.Delay(10);
        }
        await timeout.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        var finishedBefore = bed.Model.Completed.ToArray();
        Assert.InRange(finishedBefore.Length, 3, 7);

        // Redelivery: only the rest runs.
        var outcome = await bed.NewProcessor().ProcessAsync(message, 2);

        Assert.Equal(8 - finishedBefore.Length, outcome.RequestsRun);
        Assert.Equal(BatchStatus.Completed, outcome.Status);
        Assert.Equal(8, bed.Model.Completed.Count); // every request generated to the end exactly once
        Assert.Equal(ids.Order(), bed.Model.Completed.Order());
        var done = (await bed.Store.GetBatchAsync(batch.Id))!;
        Assert.Equal(ids, (await bed.ReadFileLinesAsync(done.OutputFileId)).Select(CustomId));
        Assert.Equal(new BatchAttempt(0, 2, null), done.LastAttempt);
    }

    [Theory]
    [MemberData(nameof(Storages))]
    public async Task Process_TwoWorkersRaceOnOneChunk_OneLinePerCustomId(string storage)
    {
        await using var bed = await CreateAsync(storage);
        bed.Options.ChunkSize = 6;
        bed.Model.Delay = TimeSpan.FromMilliseconds(40);
        var ids = Enumerable.Range(1, 6).Select(i => $"r{i}").ToArray();
        var batch = await bed.SubmitAsync(string.Join("\n", ids.Select(id => Request(id, id))));
        Assert.True(bed.Queue.Messages.TryDequeue(out var message));

        // The message became visible again while the first worker still ran it: two workers, one chunk.
        var outcomes = await Task.WhenAll(bed.NewProcessor().ProcessAsync(message, 1), bed.NewProcessor().ProcessAsync(message, 2));

        Assert.All(outcomes, o => Assert.Equal(BatchStatus.Completed, o.Status));
        var done = (await bed.Store.GetBatchAsync(batch.Id))!;
        Assert.Equal(ids, (await bed.ReadFileLinesAsync(done.OutputFileId)).Select(CustomId));
        Assert.Equal(new BatchChunkCounts(6, 0), done.Counts);
        var lineObjects = await bed.Storage.ListAsync(BatchStore.LinesPrefix(batch.Id)).CountAsync();
        Assert.Equal(6, lineObjects);
    }

    [Theory]
    [MemberData(nameof(Storages))]
    public async Task Process_CancelWhileRunning_StopsAndKeepsFinishedLines(string storage)
    {
        await using var bed = await CreateAsync(storage);
        bed.Options.ChunkSize = 8;
        bed.Options.MaxConcurrency = 1;
        bed.Model.Delay = TimeSpan.FromMilliseconds(200);
        var batch = await bed.SubmitAsync(string.Join("\n", Enumerable.Range(1, 8).Select(i => Request($"r{i}", $"r{i}"))));
        var run = bed.DrainAsync(batch.Id);
        while (bed.Model.Completed.Count < 2)
        {
            await Task.Delay(10);
        }

        await bed.Store.UpdateBatchAsync(batch.Id, r => r with { Status = BatchStatus.Cancelling, CancellingAt = bed.Store.Now });
        var done = await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(BatchStatus.Cancelled, done.Status);
        Assert.NotNull(done.CancelledAt);
        Assert.InRange(bed.Model.Calls, 2, 4); // stopped within a poll interval, not after all 8
        var output = await bed.ReadFileLinesAsync(done.OutputFileId);
        Assert.Equal(bed.Model.Completed.Order(), output.Select(CustomId).Order());
        Assert.Equal(new BatchChunkCounts(output.Length, 0), done.Counts);
    }

    [Theory]
    [MemberData(nameof(Storages))]
    public async Task Process_InputDeletedWhileQueued_FailsWithoutRunning(string storage)
    {
        await using var bed = await CreateAsync(storage);
        var batch = await bed.SubmitAsync(Request("a", "one"));
        await bed.Store.DeleteFileAsync(batch.InputFileId);

        var done = await bed.DrainAsync(batch.Id);

        Assert.Equal(BatchStatus.Failed, done.Status);
        Assert.Equal("input_file_deleted", Assert.Single(done.Errors!).Code);
        Assert.Equal(0, bed.Model.Calls);
    }

    [Theory]
    [MemberData(nameof(Storages))]
    public async Task Process_InputReplacedWithAnotherSize_FailsFromPropertiesWithoutReadingIt(string storage)
    {
        await using var bed = await CreateAsync(storage);
        var batch = await bed.SubmitAsync(Request("a", "one"));
        var name = BatchStore.FileDataName(batch.InputFileId);
        await bed.Storage.DeleteAsync(name);
        await bed.Storage.TryCreateAsync(name, new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Request("a", "one") + "\n" + Request("b", "two"))));
        var reads = new CountingReads(bed.Storage);

        await bed.DrainAsync(batch.Id, bed.NewProcessor(reads));

        var done = (await bed.Store.GetBatchAsync(batch.Id))!;
        Assert.Equal(BatchStatus.Failed, done.Status);
        Assert.Equal("input_file_changed", Assert.Single(done.Errors!).Code);
        Assert.Equal(0, reads.InputReads);
        Assert.Equal(0, bed.Model.Calls);
    }

    [Fact]
    public async Task Process_TimeBudgetUsed_QueuesTheRestAsANewMessage()
    {
        await using var bed = await CreateAsync("local");
        bed.Options.ChunkSize = 4;
        bed.Options.MaxConcurrency = 1;
        bed.Options.ChunkTimeBudget = TimeSpan.FromMilliseconds(100);
        bed.Model.Delay = TimeSpan.FromMilliseconds(150);
        var batch = await bed.SubmitAsync(string.Join("\n", Enumerable.Range(1, 4).Select(i => Request($"r{i}", $"r{i}"))));
        Assert.True(bed.Queue.Messages.TryDequeue(out var message));

        var outcome = await bed.NewProcessor().ProcessAsync(message);

        Assert.Equal(new BatchChunkOutcome(BatchStatus.InProgress, 1, Requeued: true), outcome);
        Assert.Equal([message], bed.Queue.Messages);
        var done = await bed.DrainAsync(batch.Id);
        Assert.Equal(BatchStatus.Completed, done.Status);
        Assert.Equal(4, bed.Model.Calls);
    }

    [Fact]
    public async Task LocalWorker_ChunkKeepsFailing_PoisonRecordsRealDeliveryCount()
    {
        await using var bed = await CreateAsync("local");
        bed.Options.MaxDequeueCount = 3;
        bed.Options.RetryDelay = TimeSpan.FromMilliseconds(10);
        var batch = await bed.SubmitAsync(Request("a", "one"));
        var failing = new FailingLineWrites(bed.Storage);
        var processor = bed.NewProcessor(failing);
        var queue = new Qwen.Serving.Batch.Queue.InProcessBatchQueue();
        var worker = new Qwen.Serving.Batch.Queue.LocalBatchWorker(queue, processor, new BatchPoisonProcessor(processor), bed.Options);

        await worker.StartAsync(default); // resumes the batch from storage: one message for its one chunk
        BatchRecord? record = null;
        for (var i = 0; i < 200 && record?.Status != BatchStatus.Failed; i++)
        {
            await Task.Delay(25);
            record = await bed.Store.GetBatchAsync(batch.Id);
        }
        await worker.StopAsync(default);

        Assert.Equal(BatchStatus.Failed, record!.Status);
        var error = Assert.Single(record.Errors!);
        Assert.Equal("poisoned_message", error.Code);
        Assert.StartsWith("Chunk 0 failed 3 times and its message was moved to the poison queue. The last error was: Storage refused", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, failing.Refused);
    }

    /// <summary>Counts reads of input file bytes.</summary>
    private sealed class CountingReads(IBatchStorage inner) : IBatchStorage
    {
        private int _inputReads;
        public int InputReads => Volatile.Read(ref _inputReads);

        public Task<StoredObjectProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default) => inner.GetPropertiesAsync(name, cancellationToken);
        public Task<string?> TryCreateAsync(string name, Stream content, CancellationToken cancellationToken = default) => inner.TryCreateAsync(name, content, cancellationToken);
        public Task<string?> TryReplaceAsync(string name, BinaryData content, string etag, CancellationToken cancellationToken = default) => inner.TryReplaceAsync(name, content, etag, cancellationToken);
        public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteAsync(name, cancellationToken);
        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

        public Task<StoredObject?> ReadAsync(string name, CancellationToken cancellationToken = default)
        {
            Count(name);
            return inner.ReadAsync(name, cancellationToken);
        }

        public Task<Stream?> OpenReadAsync(string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
        {
            Count(name);
            return inner.OpenReadAsync(name, offset, length, cancellationToken);
        }

        private void Count(string name)
        {
            if (name.EndsWith(".data", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _inputReads);
            }
        }
    }
}
