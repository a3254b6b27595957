using Qwen.Serving.Http;

namespace Qwen.Server;

/// <summary>Loads the model at start-up so the first request does not pay for it and /ready reflects the truth.</summary>
internal sealed partial class EngineWarmup(IGenerationEngineProvider engines, ILogger<EngineWarmup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var engine = await engines.GetAsync(cancellationToken).ConfigureAwait(false);
        LogLoaded(logger, engine.Manifest.Name, engine.ContextLength);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} loaded (context {Context} tokens)")]
    private static partial void LogLoaded(ILogger logger, string model, int context);
}
