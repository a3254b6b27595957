using Qwen.Inference.Generation;

namespace Qwen.Serving.Http;

/// <summary>Gives the handlers the loaded engine; the Functions app loads it lazily from the model cache, the server at start-up.</summary>
public interface IGenerationEngineProvider
{
    /// <summary>The engine if it is loaded; null while loading (then /ready answers 503).</summary>
    IGenerationEngine? Loaded { get; }

    /// <summary>Returns the engine, loading it first if needed.</summary>
    ValueTask<IGenerationEngine> GetAsync(CancellationToken cancellationToken);
}
