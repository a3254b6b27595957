using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Qwen.Inference.Constraints;

namespace Qwen.Serving.Http;

/// <summary>Loads the model when the host starts, on the host's lifetime, so /ready turns 200 without waiting for a first request.</summary>
/// <remarks>Runs in the background: the host listens at once and answers /ready with 503 while the model loads; requests that
/// arrive meanwhile wait for this same load (<see cref="GenerationEngineProvider"/> shares it).</remarks>
public sealed partial class EngineWarmupService(
    IGenerationEngineProvider engines, IHostApplicationLifetime lifetime, EngineWarmupOptions options, ILogger<EngineWarmupService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var engine = await engines.GetAsync(stoppingToken).ConfigureAwait(false);
            LogLoaded(logger, engine.Manifest.Name, engine.ContextLength);
            // The vocabulary index behind constrained decoding (token trie, plain-token sets) is built once per tokenizer;
            // building it now keeps ~150 ms off the first JSON-mode or forced-tool request.
            TokenConstraint.Create(Grammar.JsonObject(), engine.Tokenizer);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down before the model finished loading.
        }
        catch (Exception ex)
        {
            LogLoadFailed(logger, ex);
            if (options.StopHostOnFailure)
            {
                Environment.ExitCode = 1;
                lifetime.StopApplication();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} loaded (context {Context} tokens)")]
    private static partial void LogLoaded(ILogger logger, string model, int context);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The model failed to load at start-up")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception);
}
