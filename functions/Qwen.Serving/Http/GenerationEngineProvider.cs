using Qwen.Inference.Generation;

namespace Qwen.Serving.Http;

/// <summary>Loads the engine once with the given factory; concurrent callers share the one load, and no caller can cancel it.</summary>
/// <remarks>
/// The load runs on the provider's own token (the host's lifetime, and disposal), not on the token of the request that
/// happened to start it: a client that gives up during a cold start stops waiting, while the download and session
/// creation go on for everyone else. A failed load is retried by the next caller rather than cached, because its cause
/// (a download, a disk) may be transient. Thread-safe.
/// </remarks>
public sealed class GenerationEngineProvider : IGenerationEngineProvider, IAsyncDisposable
{
    private readonly Func<CancellationToken, Task<IGenerationEngine>> _load;
    private readonly CancellationTokenSource _stopping;
    private readonly Lock _gate = new();
    private Task<IGenerationEngine>? _loading;
    private volatile IGenerationEngine? _engine;

    /// <summary>A provider that loads with <paramref name="load"/> on first use; <paramref name="lifetime"/> (the host's stopping token) is the only thing that cancels the load, besides disposal.</summary>
    public GenerationEngineProvider(Func<CancellationToken, Task<IGenerationEngine>> load, CancellationToken lifetime = default)
    {
        _load = load;
        _stopping = CancellationTokenSource.CreateLinkedTokenSource(lifetime);
    }

    /// <summary>A provider over an engine that is already loaded.</summary>
    public GenerationEngineProvider(IGenerationEngine engine) : this(_ => Task.FromResult(engine)) => _engine = engine;

    /// <inheritdoc />
    public IGenerationEngine? Loaded => _engine;

    /// <summary>Number of loads started so far (1 after a successful cold start; more only after failures).</summary>
    public int LoadsStarted { get; private set; }

    /// <inheritdoc />
    /// <remarks><paramref name="cancellationToken"/> cancels only this caller's wait, never the load.</remarks>
    public async ValueTask<IGenerationEngine> GetAsync(CancellationToken cancellationToken)
    {
        if (_engine is { } e)
        {
            return e;
        }
        Task<IGenerationEngine> loading;
        lock (_gate)
        {
            if (_loading is null || _loading.IsFaulted || _loading.IsCanceled)
            {
                LoadsStarted++;
                // Task.Run: the load never runs inline under the lock or on the first caller's stack.
                _loading = Task.Run(LoadAsync);
            }
            loading = _loading;
        }
        return await loading.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IGenerationEngine> LoadAsync()
    {
        var engine = await _load(_stopping.Token).ConfigureAwait(false);
        _engine = engine;
        return engine;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task<IGenerationEngine>? loading;
        lock (_gate)
        {
            loading = _loading;
        }
        if (loading is not null)
        {
            try
            {
                await loading.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A load that failed or was cancelled by the shutdown leaves nothing to dispose.
            }
        }
        if (_engine is { } e)
        {
            await e.DisposeAsync().ConfigureAwait(false);
        }
        _stopping.Dispose();
    }
}
