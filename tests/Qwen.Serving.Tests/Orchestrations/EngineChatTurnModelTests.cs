using System.Runtime.CompilerServices;
using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Tokenization;
using Qwen.Serving.Http;
using Qwen.Serving.Orchestrations;
using Qwen.Testing;

namespace Qwen.Serving.Tests.Orchestrations;

/// <summary>The local turn model's prompts against the spec's ChatML vectors (real Qwen tokenizer).</summary>
public sealed class EngineChatTurnModelTests
{
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    [Fact]
    public async Task GenerateAsync_HistoryAndQuery_PromptIsTheSpecVector()
    {
        var engine = new CapturingEngine(Tokenizer.Value, "2");
        var model = new EngineChatTurnModel(new GenerationEngineProvider(engine));

        var result = await model.GenerateAsync(new ChatTurnRequest
        {
            Messages = [ChatTurnMessage.User("Hi"), ChatTurnMessage.Assistant("Hello! How can I help you?"), ChatTurnMessage.User("What is 1+1?")],
            Stop = ["Observation:"],
            MaxTokens = 3,
            Temperature = 0,
        });

        // Spec §5.1, history [("Hi", "Hello! How can I help you?")], query "What is 1+1?".
        int[] expected = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198, 9707, 0, 2585, 646, 358, 1492, 498, 30, 151645, 198, 151644, 872, 198, 3838, 374, 220, 16, 10, 16, 30, 151645, 198, 151644, 77091, 198];
        var request = Assert.Single(engine.Requests);
        Assert.Equal(expected, request.PromptTokens);
        Assert.Equal(["Observation:"], request.StopStrings);
        Assert.Equal(3, request.MaxNewTokens);
        Assert.True(request.Sampling.IsGreedy);
        Assert.Equal(new ChatTurnResult("2", "stop", expected.Length, 1), result);
    }

    [Fact]
    public async Task GenerateAsync_ContinueLastAssistant_LeavesTheTurnOpen()
    {
        var engine = new CapturingEngine(Tokenizer.Value, " done");
        var model = new EngineChatTurnModel(new GenerationEngineProvider(engine));

        await model.GenerateAsync(new ChatTurnRequest
        {
            Messages = [ChatTurnMessage.User("你好"), ChatTurnMessage.Assistant("Thought:")],
            ContinueLastAssistant = true,
        });

        // Spec §5.1 single-turn vector for 你好, then the assistant text without <|im_end|>.
        int[] prefix = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 108386, 151645, 198, 151644, 77091, 198];
        Assert.Equal([.. prefix, .. Tokenizer.Value.Encode("Thought:")], Assert.Single(engine.Requests).PromptTokens);
    }

    [Fact]
    public async Task GenerateAsync_RolesDoNotAlternate_ArgumentExceptionBeforeGenerating()
    {
        var engine = new CapturingEngine(Tokenizer.Value, "x");
        var model = new EngineChatTurnModel(new GenerationEngineProvider(engine));

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => model.GenerateAsync(new ChatTurnRequest { Messages = [ChatTurnMessage.User("a"), ChatTurnMessage.User("b")] }));

        Assert.StartsWith("Message 1 has role 'user' but 'assistant' was expected", ex.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Requests);
    }

    /// <summary>Records requests and answers with fixed text in one update.</summary>
    private sealed class CapturingEngine(QwenTokenizer tokenizer, string answer) : IGenerationEngine
    {
        public List<GenerationRequest> Requests { get; } = [];

        public ModelManifest Manifest { get; } = new()
        {
            Name = "capture", Dtype = "fp32", Tokenizer = new TokenizerInfo(), Io = new GraphIo(), Files = [],
            Generation = new GenerationDefaults { DoSample = true, Temperature = 1, TopP = 0.8, MaxWindowSize = 6144 },
            Architecture = new ModelArchitecture
            {
                HiddenSize = 64, NumLayers = 1, NumHeads = 4, HeadDim = 16, IntermediateSize = 64, VocabSize = 151936, SeqLength = 2048,
                RotaryBase = 10000, RmsNormEps = 1e-6, UseDynamicNtk = true, UseLognAttn = true, ConfigStyle = "v1.0", MaxContext = 4096,
            },
        };

        public QwenTokenizer Tokenizer => tokenizer;

        public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Requests.Add(request);
            await Task.Yield();
            yield return new GenerationUpdate(answer, [new GeneratedToken(1, float.NaN, [])]);
            yield return new GenerationUpdate("", [], FinishReason.Stop, new GenerationUsage(request.PromptTokens.Count, 1, 0, TimeSpan.Zero));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
