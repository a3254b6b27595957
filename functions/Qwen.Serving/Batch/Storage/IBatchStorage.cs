namespace Qwen.Serving.Batch.Storage;

/// <summary>The few storage operations batch generation needs: named byte objects with properties, ranged reads and conditional writes.</summary>
/// <remarks>
/// Names use '/' as a folder separator. Two implementations: <see cref="BlobBatchStorage"/> (Azure Blob, conditional
/// requests with ETags) and <see cref="LocalBatchStorage"/> (a local directory for the standalone server). Every write is
/// atomic: a reader sees the old object or the new one, never half of one. Implementations are thread-safe.
/// </remarks>
public interface IBatchStorage
{
    /// <summary>Size and version of an object without reading it, or null when it does not exist.</summary>
    Task<StoredObjectProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The whole object and its version, or null when it does not exist.</summary>
    Task<StoredObject?> ReadAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Opens <paramref name="length"/> bytes from <paramref name="offset"/> (null: to the end), or null when the object does not exist.</summary>
    Task<Stream?> OpenReadAsync(string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default);

    /// <summary>Writes a new object only if none exists under the name (If-None-Match: *).</summary>
    /// <returns>The new version, or null when the name was already taken (the existing object is left alone).</returns>
    Task<string?> TryCreateAsync(string name, Stream content, CancellationToken cancellationToken = default);

    /// <summary>Replaces an object only if it is still at version <paramref name="etag"/> (If-Match).</summary>
    /// <returns>The new version, or null when the object changed (or vanished) since it was read.</returns>
    Task<string?> TryReplaceAsync(string name, BinaryData content, string etag, CancellationToken cancellationToken = default);

    /// <summary>Deletes an object; false when there was none.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Names that start with <paramref name="prefix"/>, in ordinal order.</summary>
    IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken = default);
}
