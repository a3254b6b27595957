using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Qwen.Serving.Batch.Storage;

/// <summary><see cref="IBatchStorage"/> over a local directory, for the standalone server (<c>--data-dir</c>).</summary>
/// <remarks>
/// Every write goes to a temporary file in the same folder first and is then renamed into place, so a crash leaves
/// the old object or the new one. The version of an object read whole is the SHA-256 of its bytes, so
/// <see cref="TryReplaceAsync"/> is a compare-and-swap on content. Limitation: conditional writes are serialised by
/// an in-process lock, so one data directory belongs to one server process at a time. Thread-safe.
/// </remarks>
public sealed class LocalBatchStorage : IBatchStorage
{
    private const string TempPrefix = ".tmp-";
    private readonly string _root;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Uses (and creates) <paramref name="root"/>.</summary>
    public LocalBatchStorage(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    /// <summary>The data directory.</summary>
    public string Root => _root;

    /// <inheritdoc />
    public Task<StoredObjectProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default)
    {
        var info = new FileInfo(PathOf(name));
        return Task.FromResult(info.Exists
            ? new StoredObjectProperties(info.Length, $"{info.LastWriteTimeUtc.Ticks:x}-{info.Length:x}")
            : null);
    }

    /// <inheritdoc />
    public async Task<StoredObject?> ReadAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            var bytes = await File.ReadAllBytesAsync(PathOf(name), cancellationToken).ConfigureAwait(false);
            return new StoredObject(BinaryData.FromBytes(bytes), Version(bytes));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public Task<Stream?> OpenReadAsync(string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        FileStream file;
        try
        {
            file = new FileStream(PathOf(name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, useAsync: true);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
        file.Position = Math.Min(offset, file.Length);
        Stream stream = length is { } n ? new RangeStream(file, Math.Min(n, file.Length - file.Position)) : file;
        return Task.FromResult<Stream?>(stream);
    }

    /// <inheritdoc />
    public async Task<string?> TryCreateAsync(string name, Stream content, CancellationToken cancellationToken = default)
    {
        var path = PathOf(name);
        var (temp, version) = await WriteTempAsync(path, content, cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (File.Exists(path))
            {
                File.Delete(temp);
                return null;
            }
            File.Move(temp, path, overwrite: false);
        }
        finally
        {
            _gate.Release();
        }
        return version;
    }

    /// <inheritdoc />
    public async Task<string?> TryReplaceAsync(string name, BinaryData content, string etag, CancellationToken cancellationToken = default)
    {
        var path = PathOf(name);
        var (temp, version) = await WriteTempAsync(path, content.ToStream(), cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(path) || Version(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false)) != etag)
            {
                File.Delete(temp);
                return null;
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            _gate.Release();
        }
        return version;
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(name);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(path))
            {
                return false;
            }
            File.Delete(path);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Walk the deepest folder the prefix names; filter the rest of the prefix on the relative name.
        var folder = prefix.Contains('/', StringComparison.Ordinal) ? prefix[..prefix.LastIndexOf('/')] : "";
        var directory = folder.Length == 0 ? _root : PathOf(folder);
        if (!Directory.Exists(directory))
        {
            yield break;
        }
        var names = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(p => !Path.GetFileName(p).StartsWith(TempPrefix, StringComparison.Ordinal))
            .Select(p => Path.GetRelativePath(_root, p).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return name;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private string PathOf(string name)
    {
        // Names are built by BatchStore from validated ids; refuse anything that would leave the root all the same.
        var path = Path.GetFullPath(Path.Combine(_root, name.Replace('/', Path.DirectorySeparatorChar)));
        if (!path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The object name '{name}' leaves the data directory.", nameof(name));
        }
        return path;
    }

    // Writes the content beside its final name and hashes it on the way (the version of what was written).
    private static async Task<(string Temp, string Version)> WriteTempAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = Path.Combine(Path.GetDirectoryName(path)!, TempPrefix + Guid.NewGuid().ToString("N"));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
        {
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
            // Flushed to disk before the rename, so a power cut cannot leave a renamed but empty file.
            file.Flush(flushToDisk: true);
        }
        return (temp, ToVersion(hash.GetHashAndReset()));
    }

    private static string Version(byte[] bytes) => ToVersion(SHA256.HashData(bytes));

    private static string ToVersion(byte[] sha256) => Convert.ToHexStringLower(sha256)[..32];

    private sealed class RangeStream(Stream inner, long length) : Stream
    {
        private readonly long _length = length;
        private long _left = length;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _length - _left; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
            _left -= n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
            _left -= n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
