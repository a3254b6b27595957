using System.Runtime.CompilerServices;
using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Tests.ChatClient;

/// <summary>An engine whose output comes from a callback; records the requests it saw.</summary>
internal sealed class FakeGenerationEngine : IGenerationEngine
{
    public static ModelManifest TestManifest { get; } = new()
    {
        Name = "qwen-test",
        Dtype = "fp32",
        Architecture = new ModelArchitecture
        {
            HiddenSize = 64, NumLayers = 2, NumHeads = 4, HeadDim = 16, IntermediateSize = 32, VocabSize = 151936,
            SeqLength = 32, RotaryBase = 10000, RmsNormEps = 1e-6, UseDynamicNtk = true, UseLognAttn = true,
            ConfigStyle = "v1.0", MaxContext = 256,
        },
        Tokenizer = new TokenizerInfo(),
        Generation = new GenerationDefaults { Temperature = 0.7, TopP = 0.8, TopK = 0, RepetitionPenalty = 1.1 },
        Io = new GraphIo(),
        Files = [],
    };

    public List<GenerationRequest> Requests { get; } = [];

    public Func<GenerationRequest, CancellationToken, IAsyncEnumerable<GenerationUpdate>> Callback { get; set; } = (_, _) => Empty();

    public ModelManifest Manifest => TestManifest;

    /// <summary>A real tokenizer for tests that need the built-in prompt formats (tools); null makes <see cref="Tokenizer"/> throw.</summary>
    public QwenTokenizer? WithTokenizer { get; init; }

    public QwenTokenizer Tokenizer => WithTokenizer ?? throw new InvalidOperationException("The fake engine has no tokenizer; give the client a PromptFormatter.");

    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        Requests.Add(request);
        return Callback(request, cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async IAsyncEnumerable<GenerationUpdate> Empty()
    {
        await Task.Yield();
        yield break;
    }

    /// <summary>Streams the given text pieces as updates, then a final update with usage.</summary>
    public static async IAsyncEnumerable<GenerationUpdate> Stream(
        string[] pieces, FinishReason finish, GenerationUsage usage, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var id = 1000;
        foreach (var piece in pieces)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new GenerationUpdate(piece, [new GeneratedToken(id++, float.NaN, [])]);
        }
        yield return new GenerationUpdate("", [], finish, usage);
    }
}
