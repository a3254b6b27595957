using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Tokenization;

namespace Qwen.Server.Tests.Fakes;

/// <summary>Decorator that scripts the model's ReAct text for prompts carrying tools (random weights never call a tool); other prompts go to the inner engine.</summary>
public sealed class ScriptedReActEngine(IGenerationEngine inner) : IGenerationEngine
{
    public ModelManifest Manifest => inner.Manifest;
    public QwenTokenizer Tokenizer => inner.Tokenizer;

    /// <summary>Text the "model" writes for a tools prompt whose decoded form is given; null delegates to the inner engine.</summary>
    public Func<string, string?> Script { get; set; } = prompt =>
        !prompt.Contains("You have access to the following APIs", StringComparison.Ordinal) ? null
        : prompt.EndsWith("Thought:", StringComparison.Ordinal) ? " I now know the final answer.\nFinal Answer: It is 22 degrees and sunny in Paris."
        : "Thought: I need the weather for Paris.\nAction: get_weather\nAction Input: {\"city\": \"Paris\"}\nObservation: [model would keep going]";

    /// <summary>Every request this engine received (scripted or passed on), in order.</summary>
    public ConcurrentQueue<GenerationRequest> Requests { get; } = new();

    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Requests.Enqueue(request);
        var scripted = Script(Tokenizer.Decode(request.PromptTokens));
        if (scripted is null)
        {
            await foreach (var u in inner.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
            {
                yield return u;
            }
            yield break;
        }
        // Stop strings apply as in the engine: the text is cut before the first one and the stop text is not emitted.
        var finish = FinishReason.Stop;
        foreach (var stop in request.StopStrings)
        {
            var at = scripted.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0)
            {
                scripted = scripted[..at];
            }
        }
        var ids = Tokenizer.Encode(scripted);
        var decoder = Tokenizer.CreateStreamDecoder();
        foreach (var id in ids)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new GenerationUpdate(decoder.Append(id), [new GeneratedToken(id, float.NaN, [])]);
        }
        yield return new GenerationUpdate(decoder.Flush(), [], finish, new GenerationUsage(request.PromptTokens.Count, ids.Count, 0, TimeSpan.FromMilliseconds(1)));
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
