using Qwen.Inference.Runtime;
using Qwen.Inference.Scheduling;
using Qwen.Testing;
using Qwen.Testing.Reference;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>fp32 packages of both tiny checkpoints (v1.0 and v1.1 config styles), a serving engine on each, and their float64 references.</summary>
public sealed class TinyEngineFixture : IAsyncLifetime
{
    /// <summary>KV positions per row of the test engines (prompts up to ~200 tokens, so NTK α reaches 7 with S = 64).</summary>
    public const int Context = 256;

    private readonly Dictionary<TestCheckpoint, QwenScheduler> _engines = [];
    private readonly Dictionary<TestCheckpoint, Lazy<ReferenceModel>> _references = [];
    private readonly Dictionary<TestCheckpoint, string> _packages = [];

    /// <summary>Two rows, one intra-op thread; prefix reuse off unless asked, so each request's usage is its own.</summary>
    public static QwenSchedulerOptions Options(bool reusePrefix = false, int rows = 2) => new()
    {
        Runtime = new ModelRuntimeOptions { ContextLength = Context, IntraOpThreads = 1 },
        Scheduling = new SchedulerOptions { MaxBatchSize = rows, EnablePrefixReuse = reusePrefix },
    };

    public QwenScheduler Engine(TestCheckpoint checkpoint) => _engines[checkpoint];

    /// <summary>The float64 reference of the same checkpoint, loaded on first use.</summary>
    public ReferenceModel Reference(TestCheckpoint checkpoint) => _references[checkpoint].Value;

    public string Package(TestCheckpoint checkpoint) => _packages[checkpoint];

    public async Task InitializeAsync()
    {
        foreach (var checkpoint in new[] { TestCheckpoint.TinyV10Sharded, TestCheckpoint.TinyV11 })
        {
            var package = await Generation.TestPackages.GetAsync(checkpoint);
            _packages[checkpoint] = package;
            _engines[checkpoint] = QwenScheduler.Load(package, Options());
            var checkpointDirectory = await TestModels.GetCheckpointAsync(checkpoint);
            _references[checkpoint] = new Lazy<ReferenceModel>(() => ReferenceModel.Load(checkpointDirectory));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var engine in _engines.Values)
        {
            await engine.DisposeAsync();
        }
        foreach (var reference in _references.Values.Where(r => r.IsValueCreated))
        {
            reference.Value.Dispose();
        }
    }
}

/// <summary>Test classes sharing one <see cref="TinyEngineFixture"/> (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class TinyEngineCollection : ICollectionFixture<TinyEngineFixture>
{
    public const string Name = "tiny engine";
}
