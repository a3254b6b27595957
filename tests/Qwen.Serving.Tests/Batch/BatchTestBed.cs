using System.Text;
using Azure.Storage.Blobs;
using Qwen.Serving.Batch;
using Qwen.Serving.Batch.Storage;
using Qwen.Serving.Tests.ModelCache;
using Qwen.Testing;

namespace Qwen.Serving.Tests.Batch;

/// <summary>A store on one of the two storages ("local": a temp directory; "blob": an Azurite container), a recording queue and an echo model.</summary>
public sealed class BatchTestBed : IAsyncDisposable
{
    private readonly string? _directory;
    private readonly BlobContainerClient? _container;

    private BatchTestBed(IBatchStorage storage, string? directory, BlobContainerClient? container)
    {
        Storage = storage;
        Store = new BatchStore(storage);
        _directory = directory;
        _container = container;
    }

    public IBatchStorage Storage { get; }
    public BatchStore Store { get; }
    public RecordingBatchQueue Queue { get; } = new();
    public EchoChatTurnModel Model { get; } = new();
    public BatchOptions Options { get; } = new() { ChunkSize = 3, MaxConcurrency = 3, CancelPollInterval = TimeSpan.FromMilliseconds(50) };

    public static async Task<BatchTestBed> CreateAsync(string kind)
    {
        if (kind == "local")
        {
            var directory = Path.Combine(Path.GetTempPath(), "qwen-batch-" + Guid.NewGuid().ToString("N"));
            return new BatchTestBed(new LocalBatchStorage(directory), directory, null);
        }
        var container = new BlobContainerClient(AzuriteFixture.ConnectionString, AzuriteFixture.UniqueName("batches"), BlobModelCacheTests.AzuriteClientOptions());
        await container.CreateAsync();
        return new BatchTestBed(new BlobBatchStorage(container), null, container);
    }

    public BatchProcessor NewProcessor(IBatchStorage? storage = null) => new(
        storage is null ? Store : new BatchStore(storage),
        new ChatCompletionsBatchHandler(Model, TimeProvider.System), Queue, Options);

    public static string Request(string customId, string content, string extra = "")
        => $$$"""{"custom_id": "{{{customId}}}", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "qwen-7b-chat", "messages": [{"role": "user", "content": "{{{content}}}"}]{{{extra}}}}}""";

    /// <summary>Uploads <paramref name="jsonl"/> and submits it; the chunk messages land in <see cref="Queue"/>.</summary>
    public async Task<BatchRecord> SubmitAsync(string jsonl)
    {
        var file = await Store.CreateFileAsync("input.jsonl", "batch", new MemoryStream(Encoding.UTF8.GetBytes(jsonl)));
        return await new BatchSubmitter(Store, Queue, Options).SubmitAsync(file.Id, "/v1/chat/completions", null);
    }

    /// <summary>Delivers queued messages (including ones queued meanwhile) until none is left; returns the batch afterwards.</summary>
    public async Task<BatchRecord> DrainAsync(string batchId, BatchProcessor? processor = null)
    {
        processor ??= NewProcessor();
        while (Queue.Messages.TryDequeue(out var message))
        {
            await processor.ProcessAsync(message);
        }
        return (await Store.GetBatchAsync(batchId))!;
    }

    /// <summary>The lines of a stored file (empty for a null id).</summary>
    public async Task<string[]> ReadFileLinesAsync(string? fileId)
    {
        if (fileId is null)
        {
            return [];
        }
        var stored = await Storage.ReadAsync(BatchStore.FileDataName(fileId));
        return stored!.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DeleteIfExistsAsync();
        }
        if (_directory is not null && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
