using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Qwen.Serving.Batch.Storage;

/// <summary><see cref="IBatchStorage"/> over one Blob container: conditional writes are If-None-Match / If-Match requests on the blob's ETag.</summary>
/// <remarks>The Azure SDK retries transient failures itself; anything else propagates as <see cref="RequestFailedException"/>. Thread-safe.</remarks>
public sealed class BlobBatchStorage(BlobContainerClient container) : IBatchStorage
{
    /// <summary>The container holding every object.</summary>
    public BlobContainerClient Container => container;

    /// <inheritdoc />
    public async Task<StoredObjectProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            var properties = (await container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            return new StoredObjectProperties(properties.ContentLength, properties.ETag.ToString());
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task<StoredObject?> ReadAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            var result = (await container.GetBlobClient(name).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
            return new StoredObject(result.Content, result.Details.ETag.ToString());
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task<Stream?> OpenReadAsync(string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        if (length == 0)
        {
            return new MemoryStream([], writable: false); // a zero-length range is not expressible as an HTTP Range
        }
        try
        {
            var result = await container.GetBlobClient(name).DownloadStreamingAsync(
                new BlobDownloadOptions { Range = new HttpRange(offset, length) }, cancellationToken).ConfigureAwait(false);
            return result.Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task<string?> TryCreateAsync(string name, Stream content, CancellationToken cancellationToken = default)
    {
        try
        {
            var result = await container.GetBlobClient(name).UploadAsync(content, new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                HttpHeaders = new BlobHttpHeaders { ContentType = ContentType(name) },
            }, cancellationToken).ConfigureAwait(false);
            return result.Value.ETag.ToString();
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return null; // BlobAlreadyExists: another writer got there first
        }
    }

    /// <inheritdoc />
    public async Task<string?> TryReplaceAsync(string name, BinaryData content, string etag, CancellationToken cancellationToken = default)
    {
        try
        {
            var result = await container.GetBlobClient(name).UploadAsync(content, new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfMatch = new ETag(etag) },
                HttpHeaders = new BlobHttpHeaders { ContentType = ContentType(name) },
            }, cancellationToken).ConfigureAwait(false);
            return result.Value.ETag.ToString();
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 409 or 412)
        {
            return null; // ConditionNotMet: someone wrote in between
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
        => (await container.GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken).ConfigureAwait(false))
        {
            yield return item.Name;
        }
    }

    private static string ContentType(string name) => name.EndsWith(".json", StringComparison.Ordinal) ? "application/json" : "application/jsonl";
}
