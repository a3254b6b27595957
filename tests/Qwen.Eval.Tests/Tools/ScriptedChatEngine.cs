using System.Runtime.CompilerServices;
using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Tokenization;

namespace Qwen.Eval.Tests.Tools;

/// <summary>A test engine that answers each ReAct prompt with a scripted reply chosen by the prompt's last "Question: …" line.</summary>
public sealed class ScriptedChatEngine(QwenTokenizer tokenizer, Func<string, string> reply) : IGenerationEngine
{
    public ModelManifest Manifest { get; } = new()
    {
        Name = "qwen-scripted",
        Architecture = new ModelArchitecture
        {
            HiddenSize = 64, NumLayers = 2, NumHeads = 4, HeadDim = 16, IntermediateSize = 128, VocabSize = 151936,
            SeqLength = 2048, RotaryBase = 10000, RmsNormEps = 1e-6, UseDynamicNtk = true, UseLognAttn = true,
            ConfigStyle = "v1.1", MaxContext = 8192,
        },
        Dtype = "fp32",
        Tokenizer = new TokenizerInfo(),
        Generation = new GenerationDefaults(),
        Io = new GraphIo(),
        Files = [],
    };

    public QwenTokenizer Tokenizer => tokenizer;

    /// <summary>The question of a ReAct prompt: the text after its last "Question: ", up to the end of that ChatML turn.</summary>
    public static string Question(string prompt)
    {
        var at = prompt.LastIndexOf("Question: ", StringComparison.Ordinal);
        var question = at < 0 ? prompt : prompt[(at + "Question: ".Length)..];
        var end = question.IndexOf("<|im_end|>", StringComparison.Ordinal);
        return (end < 0 ? question : question[..end]).Trim();
    }

    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        var text = reply(Question(tokenizer.Decode(request.PromptTokens)));
        var ids = tokenizer.Encode(text);
        yield return new GenerationUpdate(text, [.. ids.Select(id => new GeneratedToken(id, float.NaN, []))], FinishReason.Stop,
            new GenerationUsage(request.PromptTokens.Count, ids.Count, 0, TimeSpan.Zero));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
