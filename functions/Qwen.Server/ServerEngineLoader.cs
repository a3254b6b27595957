using Qwen.Inference.Generation;
using Qwen.Inference.Hosting;
using Qwen.Inference.Runtime;
using Qwen.Inference.Scheduling;

namespace Qwen.Server;

/// <summary>Opens the model package named by <c>--model</c> (configuration <c>Qwen:Model:PackagePath</c>) with the engine the switches ask for.</summary>
internal static class ServerEngineLoader
{
    public static Task<IGenerationEngine> LoadAsync(IConfiguration configuration, EngineMetrics metrics, CancellationToken cancellationToken)
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
        var options = ReadOptions(configuration, path);
        cancellationToken.ThrowIfCancellationRequested();
        // Loading is synchronous native work (session creation, weight mapping); keep it off the caller's thread.
        return Task.Run(() => QwenEngineServiceCollectionExtensions.CreateEngine(options, metrics), cancellationToken);
    }

    internal static QwenEngineOptions ReadOptions(IConfiguration configuration, string path)
    {
        var provider = configuration["Qwen:Engine:ExecutionProvider"]?.ToLowerInvariant() switch
        {
            null or "" or "cpu" => ExecutionProvider.Cpu,
            "cuda" => ExecutionProvider.Cuda,
            "directml" or "dml" => ExecutionProvider.DirectML,
            var other => throw new ArgumentException($"--execution-provider '{other}' is not one of cpu, cuda, directml."),
        };
        var scheduling = new SchedulerOptions();
        return new QwenEngineOptions
        {
            PackageDirectory = path,
            Runtime = new ModelRuntimeOptions
            {
                ExecutionProvider = provider,
                IntraOpThreads = Int(configuration, "Qwen:Engine:IntraOpThreads", "--threads"),
                ContextLength = Int(configuration, "Qwen:Engine:MaxContext", "--max-context"),
            },
            Scheduling = scheduling with
            {
                MaxBatchSize = Int(configuration, "Qwen:Engine:MaxBatchSize", "--max-batch-size") ?? scheduling.MaxBatchSize,
                MaxQueueLength = Int(configuration, "Qwen:Engine:MaxQueueLength", "--max-queue") ?? scheduling.MaxQueueLength,
            },
        };
    }

    private static int? Int(IConfiguration configuration, string key, string flag)
    {
        var text = configuration[key];
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{flag} '{text}' is not a positive whole number.");
    }
}
