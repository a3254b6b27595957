using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Qwen.Serving.Batch.Storage;

namespace Qwen.Serving.Batch;

/// <summary>Files, batch records and per-line results laid out over an <see cref="IBatchStorage"/>; the same layout on Blob and on disk.</summary>
/// <remarks>
/// Layout: <c>files/&lt;id&gt;.json</c> (the file object) + <c>files/&lt;id&gt;.data</c> (its bytes);
/// <c>batches/&lt;id&gt;.json</c> (<see cref="BatchRecord"/>); <c>batch-results/&lt;id&gt;/lines/&lt;chunk&gt;/&lt;index&gt;.json</c>
/// (one finished request, written once); <c>batch-results/&lt;id&gt;/chunks/&lt;chunk&gt;.jsonl</c> (a finished chunk's lines, written once);
/// <c>poison/&lt;sha256&gt;.json</c> (unreadable queue messages). Records and results have separate prefixes so listing the
/// batches never walks their results. Thread-safe.
/// </remarks>
public sealed class BatchStore(IBatchStorage storage, TimeProvider? timeProvider = null)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <summary>The storage underneath.</summary>
    public IBatchStorage Storage => storage;

    /// <summary>Now, as Unix seconds (OpenAI's timestamps).</summary>
    public long Now => _time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Name of a file's bytes.</summary>
    public static string FileDataName(string fileId) => $"files/{fileId}.data";

    /// <summary>Name of a batch's record.</summary>
    public static string BatchName(string batchId) => $"batches/{batchId}.json";

    /// <summary>Prefix of a batch's finished request lines (<c>…/&lt;chunk&gt;/&lt;index&gt;.json</c>).</summary>
    public static string LinesPrefix(string batchId) => $"batch-results/{batchId}/lines/";

    /// <summary>Name of one finished request line.</summary>
    public static string LineName(string batchId, int chunk, int index) => $"{LinesPrefix(batchId)}{chunk:D6}/{index:D7}.json";

    /// <summary>Name of a finished chunk's lines.</summary>
    public static string ChunkName(string batchId, int chunk) => $"batch-results/{batchId}/chunks/{chunk:D6}.jsonl";

    // ---- files ----

    /// <summary>Stores uploaded bytes under a new id, then the file object (a file without its object is invisible).</summary>
    public async Task<FileRecord> CreateFileAsync(string filename, string purpose, Stream content, CancellationToken cancellationToken = default, string? owner = null)
    {
        var id = BatchIds.NewFileId();
        await storage.TryCreateAsync(FileDataName(id), content, cancellationToken).ConfigureAwait(false);
        var size = (await storage.GetPropertiesAsync(FileDataName(id), cancellationToken).ConfigureAwait(false))?.Size ?? 0;
        var record = new FileRecord { Id = id, Bytes = size, CreatedAt = Now, Filename = filename, Purpose = purpose, Owner = owner };
        await storage.TryCreateAsync(FileMetaName(id), Serialize(record).ToStream(), cancellationToken).ConfigureAwait(false);
        return record;
    }

    /// <summary>Writes a file under a fixed id once; when it exists already (another worker wrote it), returns the existing one.</summary>
    public async Task<FileRecord> CreateFileOnceAsync(string id, string filename, string purpose, BinaryData content, CancellationToken cancellationToken = default, string? owner = null)
    {
        await storage.TryCreateAsync(FileDataName(id), content.ToStream(), cancellationToken).ConfigureAwait(false);
        var size = (await storage.GetPropertiesAsync(FileDataName(id), cancellationToken).ConfigureAwait(false))?.Size ?? 0;
        var record = new FileRecord { Id = id, Bytes = size, CreatedAt = Now, Filename = filename, Purpose = purpose, Owner = owner };
        await storage.TryCreateAsync(FileMetaName(id), Serialize(record).ToStream(), cancellationToken).ConfigureAwait(false);
        return await GetFileAsync(id, cancellationToken).ConfigureAwait(false) ?? record;
    }

    /// <summary>The file object, or null for an unknown (or malformed) id.</summary>
    public async Task<FileRecord?> GetFileAsync(string fileId, CancellationToken cancellationToken = default)
    {
        if (!BatchIds.IsFileId(fileId))
        {
            return null;
        }
        var stored = await storage.ReadAsync(FileMetaName(fileId), cancellationToken).ConfigureAwait(false);
        return stored?.Content.ToObjectFromJson<FileRecord>(Json);
    }

    /// <summary>Deletes a file's object and bytes; false when it did not exist.</summary>
    public async Task<bool> DeleteFileAsync(string fileId, CancellationToken cancellationToken = default)
    {
        if (!BatchIds.IsFileId(fileId) || !await storage.DeleteAsync(FileMetaName(fileId), cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        await storage.DeleteAsync(FileDataName(fileId), cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Every file object (unordered).</summary>
    public async IAsyncEnumerable<FileRecord> ListFilesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var name in storage.ListAsync("files/", cancellationToken).ConfigureAwait(false))
        {
            if (name.EndsWith(".json", StringComparison.Ordinal)
                && await storage.ReadAsync(name, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                yield return stored.Content.ToObjectFromJson<FileRecord>(Json)!;
            }
        }
    }

    // ---- batches ----

    /// <summary>Stores a new batch record.</summary>
    public async Task CreateBatchAsync(BatchRecord record, CancellationToken cancellationToken = default)
    {
        if (await storage.TryCreateAsync(BatchName(record.Id), Serialize(record).ToStream(), cancellationToken).ConfigureAwait(false) is null)
        {
            throw new InvalidOperationException($"The batch {record.Id} exists already.");
        }
    }

    /// <summary>The batch record, or null for an unknown (or malformed) id.</summary>
    public async Task<BatchRecord?> GetBatchAsync(string batchId, CancellationToken cancellationToken = default)
        => (await ReadBatchAsync(batchId, cancellationToken).ConfigureAwait(false))?.Record;

    /// <summary>Applies <paramref name="change"/> with a conditional replace, re-reading and re-applying after a conflict.</summary>
    /// <param name="batchId">The batch.</param>
    /// <param name="change">Returns the new record, or null to leave the stored one as it is.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>The record as stored afterwards, or null when the batch does not exist.</returns>
    public async Task<BatchRecord?> UpdateBatchAsync(string batchId, Func<BatchRecord, BatchRecord?> change, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var current = await ReadBatchAsync(batchId, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return null;
            }
            var next = change(current.Value.Record);
            if (next is null)
            {
                return current.Value.Record;
            }
            if (await storage.TryReplaceAsync(BatchName(batchId), Serialize(next), current.Value.ETag, cancellationToken).ConfigureAwait(false) is not null)
            {
                return next;
            }
            // Someone else changed the record between our read and write: read it again and re-decide.
        }
    }

    /// <summary>Every batch record (unordered).</summary>
    public async IAsyncEnumerable<BatchRecord> ListBatchesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var name in storage.ListAsync("batches/", cancellationToken).ConfigureAwait(false))
        {
            if (name.EndsWith(".json", StringComparison.Ordinal)
                && await storage.ReadAsync(name, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                yield return stored.Content.ToObjectFromJson<BatchRecord>(Json)!;
            }
        }
    }

    // ---- results ----

    /// <summary>Persists one finished request line; false when the line was already written (by an earlier or a racing attempt).</summary>
    public async Task<bool> TryWriteLineAsync(string batchId, int chunk, int index, JsonObject line, CancellationToken cancellationToken = default)
        => await storage.TryCreateAsync(LineName(batchId, chunk, index), new MemoryStream(Encoding.UTF8.GetBytes(line.ToJsonString(Json))), cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>The finished request lines of a chunk, by request index.</summary>
    public async Task<SortedDictionary<int, JsonObject>> ReadLinesAsync(string batchId, int chunk, CancellationToken cancellationToken = default)
    {
        var lines = new SortedDictionary<int, JsonObject>();
        var prefix = $"{LinesPrefix(batchId)}{chunk:D6}/";
        await foreach (var name in storage.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (int.TryParse(name.AsSpan(prefix.Length, name.Length - prefix.Length - ".json".Length), out var index)
                && await storage.ReadAsync(name, cancellationToken).ConfigureAwait(false) is { } stored
                && JsonNode.Parse(stored.Content.ToMemory().Span) is JsonObject line)
            {
                lines[index] = line;
            }
        }
        return lines;
    }

    /// <summary>Writes a finished chunk's lines once; returns what is stored (ours, or an earlier attempt's).</summary>
    public async Task<string> WriteChunkOnceAsync(string batchId, int chunk, string jsonl, CancellationToken cancellationToken = default)
    {
        var name = ChunkName(batchId, chunk);
        if (await storage.TryCreateAsync(name, new MemoryStream(Encoding.UTF8.GetBytes(jsonl)), cancellationToken).ConfigureAwait(false) is not null)
        {
            return jsonl;
        }
        return (await storage.ReadAsync(name, cancellationToken).ConfigureAwait(false))?.Content.ToString() ?? jsonl;
    }

    /// <summary>A finished chunk's lines, or null when the chunk has not finished.</summary>
    public async Task<string?> ReadChunkAsync(string batchId, int chunk, CancellationToken cancellationToken = default)
        => (await storage.ReadAsync(ChunkName(batchId, chunk), cancellationToken).ConfigureAwait(false))?.Content.ToString();

    private static string FileMetaName(string fileId) => $"files/{fileId}.json";

    private async Task<(BatchRecord Record, string ETag)?> ReadBatchAsync(string batchId, CancellationToken cancellationToken)
    {
        if (!BatchIds.IsBatchId(batchId))
        {
            return null;
        }
        var stored = await storage.ReadAsync(BatchName(batchId), cancellationToken).ConfigureAwait(false);
        return stored is null ? null : (stored.Content.ToObjectFromJson<BatchRecord>(Json)!, stored.ETag);
    }

    private static BinaryData Serialize<T>(T value) => BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(value, Json));
}
