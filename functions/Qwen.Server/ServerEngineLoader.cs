using Qwen.Inference.Generation;

namespace Qwen.Server;

/// <summary>Opens the model package named by <c>--model</c> (configuration <c>Qwen:Model:PackagePath</c>) with the engine.</summary>
internal static class ServerEngineLoader
{
    public static Task<IGenerationEngine> LoadAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        var path = configuration["Qwen:Model:PackagePath"];
        if (string.IsNullOrEmpty(path))
        {
            throw new InvalidOperationException("No model package given. Start the server with --model <package dir> (a directory holding qwen-model.json).");
        }
        if (!File.Exists(Path.Combine(path, "qwen-model.json")))
        {
            throw new FileNotFoundException($"'{path}' is not a model package: it has no qwen-model.json. Create one with model-prep convert.", Path.Combine(path, "qwen-model.json"));
        }
        cancellationToken.ThrowIfCancellationRequested();
        // Limitation: the ONNX engine (Qwen.Inference Generation/Scheduling) is wired here when it lands.
        throw new NotSupportedException("This build has no ONNX generation engine yet (Qwen.Inference's generator/scheduler is not merged).");
    }
}
