using System.Diagnostics;
using System.Text;
using Qwen.Inference.Constraints;
using Qwen.Inference.Generation;
using Qwen.Inference.Tokenization;

namespace Qwen.Serving.Http;

/// <summary>Turns a validated request into engine requests (one per choice) and runs them, recording in-flight counts and token metrics.</summary>
/// <remarks>Thread-safe singleton shared by the chat and completions handlers.</remarks>
public sealed class ChoiceGenerator(IServingMetrics metrics)
{
    /// <summary>The metrics the generations are recorded in.</summary>
    public IServingMetrics Metrics => metrics;

    /// <summary>Compiles the request's output grammar for the engine's vocabulary; null when there is none.</summary>
    /// <param name="grammar">The grammar (response_format, or a forced tool call).</param>
    /// <param name="tokenizer">The engine's tokenizer.</param>
    /// <param name="param">The request field the grammar came from, named by the error.</param>
    /// <exception cref="OpenAiException">400 <c>unsupported_schema</c> naming the keyword (the reader checks schemas first; this keeps a compiler refusal a 400, never a 500).</exception>
    public static TokenConstraint? Compile(Grammar? grammar, QwenTokenizer tokenizer, string param)
    {
        try
        {
            return grammar is null ? null : TokenConstraint.Create(grammar, tokenizer);
        }
        catch (UnsupportedSchemaException ex)
        {
            throw OpenAiException.Invalid(param, $"'{ex.Keyword}' at '{(ex.Path.Length == 0 ? "/" : ex.Path)}' is not supported: {ex.Message}", "unsupported_schema");
        }
    }

    /// <summary>One engine request per choice (<c>n</c>), after checking the prompt and <c>max_tokens</c> against the context.</summary>
    public static GenerationRequest[] BuildRequests(IGenerationEngine engine, ChatCompletionRequest request, IReadOnlyList<int> prompt, IReadOnlyList<string> stops, string cacheScope, TokenConstraint? constraint = null)
    {
        var context = engine.ContextLength; // what a KV row holds, not the package maximum
        if (prompt.Count + 1 > context)
        {
            throw new OpenAiException(400,
                $"This model's maximum context length is {context} tokens. However, your prompt has {prompt.Count} tokens, which leaves no room for a reply. Shorten the messages.",
                "invalid_request_error", request.Messages.Count > 0 ? "messages" : "prompt", "context_length_exceeded");
        }
        // Compared as "requested > room" so a max_tokens near int.MaxValue cannot overflow past the check.
        if (request.MaxTokens is { } requested && requested > context - prompt.Count)
        {
            throw new OpenAiException(400,
                $"This model's maximum context length is {context} tokens. However, you requested {prompt.Count + requested} tokens ({prompt.Count} in the prompt, {requested} for the completion). Reduce the prompt or max_tokens.",
                "invalid_request_error", "max_tokens", "context_length_exceeded");
        }
        var defaults = engine.Manifest.Generation;
        var maxNew = request.MaxTokens ?? Math.Min(defaults.MaxNewTokens, context - prompt.Count);
        return Enumerable.Range(0, request.N).Select(i => new GenerationRequest
        {
            PromptTokens = prompt,
            MaxNewTokens = maxNew,
            Sampling = request.ToSampling(defaults, i),
            StopStrings = stops,
            Logprobs = request.Logprobs,
            TopLogprobs = request.TopLogprobs,
            User = request.User,
            CacheScope = cacheScope,
            Constraint = constraint,
        }).ToArray();
    }

    /// <summary>Runs every choice to the end (one engine call: the engine may prefill once and decode them together); one failure fails them all.</summary>
    public async Task<GenerationResult[]> GenerateAllAsync(IGenerationEngine engine, GenerationRequest[] requests, CancellationToken ct)
    {
        await using var run = await StartAsync(engine, requests, ct).ConfigureAwait(false);
        await foreach (var _ in run.ReadAllAsync().ConfigureAwait(false))
        {
        }
        return run.Results();
    }

    /// <summary>Starts the choices and waits for the first update, so a refused request (busy, too long) fails before anything is sent.</summary>
    /// <exception cref="EngineBusyException">The engine's queue is full.</exception>
    /// <exception cref="ContextLengthExceededException">The prompt does not fit.</exception>
    public async Task<ChoiceRun> StartAsync(IGenerationEngine engine, GenerationRequest[] requests, CancellationToken ct)
    {
        var run = new ChoiceRun(this, requests, engine.GenerateChoicesAsync(requests, ct).GetAsyncEnumerator(ct));
        try
        {
            await run.FirstAsync().ConfigureAwait(false);
            return run;
        }
        catch
        {
            await run.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The collected result of one choice, recorded in the metrics.</summary>
    public GenerationResult Finish(string text, List<GeneratedToken> tokens, FinishReason finish, GenerationUsage? usage, GenerationRequest request, Stopwatch stopwatch)
    {
        usage ??= new GenerationUsage(request.PromptTokens.Count, tokens.Count, 0, stopwatch.Elapsed);
        metrics.GenerationCompleted(usage.PromptTokens, usage.CompletionTokens, usage.TimeToFirstToken, stopwatch.Elapsed - usage.TimeToFirstToken);
        return new GenerationResult(text, tokens, finish, usage);
    }
}
