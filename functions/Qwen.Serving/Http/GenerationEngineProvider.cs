using Qwen.Inference.Generation;

namespace Qwen.Serving.Http;

/// <summary>Loads the engine once, on first use, with the given factory; concurrent callers share the one load.</summary>
public sealed class GenerationEngineProvider(Func<CancellationToken, Task<IGenerationEngine>> load) : IGenerationEngineProvider, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile IGenerationEngine? _engine;

    /// <summary>A provider over an engine that is already loaded.</summary>
    public GenerationEngineProvider(IGenerationEngine engine) : this(_ => Task.FromResult(engine)) => _engine = engine;

    public IGenerationEngine? Loaded => _engine;

    public async ValueTask<IGenerationEngine> GetAsync(CancellationToken cancellationToken)
    {
        if (_engine is { } e)
        {
            return e;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A failed load is retried by the next request rather than cached: the cause (a download, a disk) may be transient.
            return _engine ??= await load(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_engine is { } e)
        {
            await e.DisposeAsync().ConfigureAwait(false);
        }
        _gate.Dispose();
    }
}
