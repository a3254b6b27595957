using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Tokenization;
using Qwen.Serving.Http;

namespace Qwen.Serving.Tests.Http;

/// <summary>The one shared model load: no caller can cancel it, concurrent callers share it, a failure is retried.</summary>
public sealed class GenerationEngineProviderTests
{
    [Fact]
    public async Task GetAsync_FirstCallerCancelledMidLoad_LoadCompletesOnceForTheNext()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loads = 0;
        CancellationToken loadToken = default;
        var engine = new StubEngine();
        await using var provider = new GenerationEngineProvider(async ct =>
        {
            Interlocked.Increment(ref loads);
            loadToken = ct;
            await gate.Task.WaitAsync(ct);
            return engine;
        });

        using var firstClient = new CancellationTokenSource();
        var first = provider.GetAsync(firstClient.Token).AsTask();
        var second = provider.GetAsync(CancellationToken.None).AsTask();
        await WaitUntilAsync(() => Volatile.Read(ref loads) == 1);
        await firstClient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.False(loadToken.IsCancellationRequested, "the client's cancellation reached the load");
        Assert.Null(provider.Loaded);

        gate.SetResult();
        Assert.Same(engine, await second);
        Assert.Same(engine, await provider.GetAsync(CancellationToken.None));
        Assert.Same(engine, provider.Loaded);
        Assert.Equal(1, loads);
        Assert.Equal(1, provider.LoadsStarted);
    }

    [Fact]
    public async Task GetAsync_ManyConcurrentFirstCallers_OneLoad()
    {
        var loads = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var provider = new GenerationEngineProvider(async _ =>
        {
            Interlocked.Increment(ref loads);
            await gate.Task;
            return new StubEngine();
        });
        var callers = Enumerable.Range(0, 16).Select(_ => Task.Run(() => provider.GetAsync(CancellationToken.None).AsTask())).ToArray();
        await WaitUntilAsync(() => Volatile.Read(ref loads) == 1);
        gate.SetResult();
        var engines = await Task.WhenAll(callers);
        Assert.Single(engines.Distinct());
        Assert.Equal(1, loads);
    }

    [Fact]
    public async Task GetAsync_LoadFailed_NextCallerRetries()
    {
        var attempts = 0;
        await using var provider = new GenerationEngineProvider(_ => ++attempts == 1
            ? Task.FromException<IGenerationEngine>(new IOException("download interrupted"))
            : Task.FromResult<IGenerationEngine>(new StubEngine()));
        await Assert.ThrowsAsync<IOException>(() => provider.GetAsync(CancellationToken.None).AsTask());
        Assert.NotNull(await provider.GetAsync(CancellationToken.None));
        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task GetAsync_HostStopping_CancelsTheLoad()
    {
        using var lifetime = new CancellationTokenSource();
        var provider = new GenerationEngineProvider(async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return new StubEngine();
        }, lifetime.Token);
        var waiting = provider.GetAsync(CancellationToken.None).AsTask();
        await lifetime.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await provider.DisposeAsync();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the load to start");
            await Task.Delay(10);
        }
    }

    private sealed class StubEngine : IGenerationEngine
    {
        public ModelManifest Manifest => throw new NotSupportedException();
        public QwenTokenizer Tokenizer => throw new NotSupportedException();
        public IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
