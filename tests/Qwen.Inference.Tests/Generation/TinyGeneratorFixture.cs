using Qwen.Inference.Generation;
using Qwen.Inference.Runtime;
using Qwen.Testing;
using Qwen.Testing.Reference;

namespace Qwen.Inference.Tests.Generation;

/// <summary>fp32 packages of both tiny checkpoints (v1.0 and v1.1 config styles), a generator on each, and their float64 references.</summary>
public sealed class TinyGeneratorFixture : IAsyncLifetime
{
    /// <summary>KV positions the test generators allocate (prompts up to ~200 tokens, so NTK α reaches 7 with S = 64).</summary>
    public const int Context = 256;

    private readonly Dictionary<TestCheckpoint, QwenGenerator> _generators = [];
    private readonly Dictionary<TestCheckpoint, Lazy<ReferenceModel>> _references = [];
    private readonly Dictionary<TestCheckpoint, string> _packages = [];

    public static QwenGeneratorOptions Options(bool reusePrefix = false) => new()
    {
        Runtime = new ModelRuntimeOptions { ContextLength = Context, IntraOpThreads = 1 },
        ReusePromptPrefix = reusePrefix,
    };

    public QwenGenerator Generator(TestCheckpoint checkpoint) => _generators[checkpoint];

    /// <summary>The float64 reference of the same checkpoint, loaded on first use.</summary>
    public ReferenceModel Reference(TestCheckpoint checkpoint) => _references[checkpoint].Value;

    public string Package(TestCheckpoint checkpoint) => _packages[checkpoint];

    public async Task InitializeAsync()
    {
        foreach (var checkpoint in new[] { TestCheckpoint.TinyV10Sharded, TestCheckpoint.TinyV11 })
        {
            var package = await TestPackages.GetAsync(checkpoint);
            _packages[checkpoint] = package;
            _generators[checkpoint] = QwenGenerator.Load(package, Options());
            var checkpointDirectory = await TestModels.GetCheckpointAsync(checkpoint);
            _references[checkpoint] = new Lazy<ReferenceModel>(() => ReferenceModel.Load(checkpointDirectory));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var generator in _generators.Values)
        {
            await generator.DisposeAsync();
        }
        foreach (var reference in _references.Values.Where(r => r.IsValueCreated))
        {
            reference.Value.Dispose();
        }
    }
}

/// <summary>Test classes sharing one <see cref="TinyGeneratorFixture"/> (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class TinyGeneratorCollection : ICollectionFixture<TinyGeneratorFixture>
{
    public const string Name = "tiny generator";
}
