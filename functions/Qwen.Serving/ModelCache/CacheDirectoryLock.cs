namespace Qwen.Serving.ModelCache;

/// <summary>An exclusive lock on a lock file, held by this process until disposed.</summary>
/// <remarks>
/// Background: on Linux .NET maps <see cref="FileShare.None"/> to an advisory <c>flock</c>, so two worker processes
/// that share a disk (and two callers in one process, each with its own handle) exclude each other. The kernel drops
/// the lock when a process dies, so a crashed downloader never leaves the cache locked.
/// </remarks>
internal sealed class CacheDirectoryLock : IDisposable
{
    private readonly FileStream _stream;

    private CacheDirectoryLock(FileStream stream) => _stream = stream;

    public static async Task<CacheDirectoryLock> AcquireAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var deadline = DateTime.UtcNow + timeout;
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return new CacheDirectoryLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
            }
            catch (IOException ex)
            {
                throw new TimeoutException(
                    $"The model cache lock {path} is still held by another process after {timeout.TotalMinutes:0.#} min; " +
                    "another worker may be stuck downloading. Stop it or raise ModelCacheOptions.LockTimeout.", ex);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
