using Qwen.Serving.Batch.Queue;
using Qwen.Serving.Http;

namespace Qwen.Serving.Batch;

/// <summary>Creates a batch: checks the input file (size from its stored properties first, then every line), stores the batch with its chunk plan and queues one message per chunk.</summary>
/// <remarks>Thread-safe.</remarks>
public sealed class BatchSubmitter(BatchStore store, IBatchQueue queue, BatchOptions options)
{
    /// <summary>Validates and submits a batch over the uploaded file <paramref name="inputFileId"/> for the tenant <paramref name="owner"/> (<see cref="Http.CallerIdentity.Owner"/>): the file must be its own, and the batch becomes its own.</summary>
    /// <exception cref="OpenAiException">404 for an unknown file; 400 for a wrong purpose, an oversized file or invalid lines (with their line numbers).</exception>
    public async Task<BatchRecord> SubmitAsync(string inputFileId, string endpoint, Dictionary<string, string>? metadata, CancellationToken cancellationToken = default, string? owner = null)
    {
        if (!BatchInputPlanner.Endpoints.Contains(endpoint))
        {
            throw OpenAiException.Invalid("endpoint", $"The endpoint '{endpoint}' is not supported; use {string.Join(" or ", BatchInputPlanner.Endpoints)}.", "unsupported_endpoint");
        }
        var file = await store.GetFileAsync(inputFileId, cancellationToken).ConfigureAwait(false);
        if (file is null || !string.Equals(file.Owner, owner, StringComparison.Ordinal))
        {
            throw FileNotFound(inputFileId); // another tenant's file looks exactly like a missing one
        }
        if (file.Purpose != "batch")
        {
            throw OpenAiException.Invalid("input_file_id", $"The file {inputFileId} has purpose '{file.Purpose}'; a batch reads a file uploaded with purpose 'batch'.", "invalid_file_purpose");
        }
        // The size comes from the stored properties: an oversized file is refused without downloading a byte of it.
        var name = BatchStore.FileDataName(inputFileId);
        var properties = await store.Storage.GetPropertiesAsync(name, cancellationToken).ConfigureAwait(false) ?? throw FileNotFound(inputFileId);
        if (properties.Size > options.MaxInputBytes)
        {
            throw OpenAiException.Invalid("input_file_id", $"The file {inputFileId} has {properties.Size:N0} bytes; a batch reads at most {options.MaxInputBytes:N0}. Split it.", "file_too_large");
        }
        int total;
        List<BatchChunk> chunks;
        await using (var input = await store.Storage.OpenReadAsync(name, 0, null, cancellationToken).ConfigureAwait(false) ?? throw FileNotFound(inputFileId))
        {
            (total, chunks) = await BatchInputPlanner.PlanAsync(input, endpoint, options, cancellationToken).ConfigureAwait(false);
        }

        var now = store.Now;
        var record = new BatchRecord
        {
            Id = BatchIds.NewBatchId(),
            Endpoint = endpoint,
            InputFileId = inputFileId,
            Status = BatchStatus.Validating,
            Metadata = metadata,
            Owner = owner,
            CreatedAt = now,
            ExpiresAt = now + 24 * 3600,
            Total = total,
            InputBytes = properties.Size,
            Chunks = chunks,
        };
        await store.CreateBatchAsync(record, cancellationToken).ConfigureAwait(false);
        try
        {
            for (var k = 0; k < chunks.Count; k++)
            {
                await queue.SendAsync(new BatchChunkMessage(record.Id, k), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            var failedAt = store.Now;
            await store.UpdateBatchAsync(record.Id, r => r with
            {
                Status = BatchStatus.Failed, FailedAt = failedAt, Errors = [new BatchError("queue_unavailable", $"The batch could not be queued: {ex.Message}")],
            }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        return record;
    }

    private static OpenAiException FileNotFound(string fileId) =>
        new(404, $"No such File object: {fileId}", "invalid_request_error", "input_file_id", "file_not_found");
}
