using Qwen.Serving.Batch.Storage;

namespace Qwen.Serving.Tests.Batch;

/// <summary>Storage whose per-line writes fail, as a storage outage would.</summary>
internal sealed class FailingLineWrites(IBatchStorage inner) : IBatchStorage
{
    private int _refused;
    public int Refused => Volatile.Read(ref _refused);

    public Task<StoredObjectProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default) => inner.GetPropertiesAsync(name, cancellationToken);
    public Task<StoredObject?> ReadAsync(string name, CancellationToken cancellationToken = default) => inner.ReadAsync(name, cancellationToken);
    public Task<Stream?> OpenReadAsync(string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default) => inner.OpenReadAsync(name, offset, length, cancellationToken);
    public Task<string?> TryReplaceAsync(string name, BinaryData content, string etag, CancellationToken cancellationToken = default) => inner.TryReplaceAsync(name, content, etag, cancellationToken);
    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteAsync(name, cancellationToken);
    public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task<string?> TryCreateAsync(string name, Stream content, CancellationToken cancellationToken = default)
    {
        if (name.Contains("/lines/", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _refused);
            throw new IOException("Storage refused the write.");
        }
        return inner.TryCreateAsync(name, content, cancellationToken);
    }
}
