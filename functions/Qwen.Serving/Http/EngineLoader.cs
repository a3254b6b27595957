using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Qwen.Inference.Generation;
using Qwen.Inference.Hosting;
using Qwen.Inference.Runtime;
using Qwen.Inference.Scheduling;

namespace Qwen.Serving.Http;

/// <summary>Opens a model package with the engine the <c>Qwen:Engine:*</c> settings ask for (the server's --execution-provider, --threads, --max-batch-size, --max-queue, --max-context, --kv-cache-bytes, --dynamic-ntk, --logn).</summary>
public static partial class EngineLoader
{
    /// <summary>Loads the package at <c>Qwen:Model:PackagePath</c> (the server's <c>--model</c>).</summary>
    public static Task<IGenerationEngine> LoadAsync(IConfiguration configuration, EngineMetrics metrics, CancellationToken cancellationToken, ILogger? logger = null) =>
        LoadAsync(configuration, configuration["Qwen:Model:PackagePath"], metrics, cancellationToken, logger);

    /// <summary>Loads the package in <paramref name="path"/> and logs how the KV budget was spent (rows × positions).</summary>
    public static async Task<IGenerationEngine> LoadAsync(IConfiguration configuration, string? path, EngineMetrics metrics, CancellationToken cancellationToken, ILogger? logger = null)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw new InvalidOperationException("No model package given. Start the server with --model <package dir> (a directory holding qwen-model.json), or set Qwen__Model__PackagePath or Qwen__Model__BlobContainerUri.");
        }
        // Relative paths are taken from the process's working directory, which `dotnet run` may set to the project folder.
        path = Path.GetFullPath(path);
        if (!File.Exists(Path.Combine(path, "qwen-model.json")))
        {
            throw new FileNotFoundException($"'{path}' is not a model package: it has no qwen-model.json. Create one with model-prep convert.", Path.Combine(path, "qwen-model.json"));
        }
        var options = ReadOptions(configuration, path);
        cancellationToken.ThrowIfCancellationRequested();
        // Loading is synchronous native work (session creation, weight mapping); keep it off the caller's thread.
        var engine = await Task.Run(() => QwenEngineServiceCollectionExtensions.CreateEngine(options, metrics), cancellationToken).ConfigureAwait(false);
        if (engine is QwenScheduler { KvCache: { } plan } scheduler)
        {
            LogKvCache(logger ?? NullLogger.Instance, engine.Manifest.Name, scheduler.ContextLength, plan.Describe(scheduler.Device));
        }
        return engine;
    }

    /// <summary>Engine options from the <c>Qwen:Engine:*</c> settings.</summary>
    public static QwenEngineOptions ReadOptions(IConfiguration configuration, string path)
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
                DynamicNtk = Switch(configuration, "Qwen:Engine:DynamicNtk", "--dynamic-ntk"),
                LognAttention = Switch(configuration, "Qwen:Engine:LognAttention", "--logn"),
            },
            Scheduling = scheduling with
            {
                MaxBatchSize = Int(configuration, "Qwen:Engine:MaxBatchSize", "--max-batch-size") ?? scheduling.MaxBatchSize,
                MaxQueueLength = Int(configuration, "Qwen:Engine:MaxQueueLength", "--max-queue") ?? scheduling.MaxQueueLength,
                KvCacheBudgetBytes = Long(configuration, "Qwen:Engine:KvCacheBudgetBytes", "--kv-cache-bytes"),
            },
        };
    }

    /// <summary>A long-context switch for evaluation: on/off (true/false); unset follows the package.</summary>
    private static bool? Switch(IConfiguration configuration, string key, string flag) =>
        configuration[key]?.Trim().ToLowerInvariant() switch
        {
            null or "" or "package" => null,
            "on" or "true" or "1" => true,
            "off" or "false" or "0" => false,
            var other => throw new ArgumentException($"{flag} '{other}' is not one of on, off, package."),
        };

    private static long? Long(IConfiguration configuration, string key, string flag)
    {
        var text = configuration[key];
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{flag} '{text}' is not a positive whole number of bytes.");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}: context {Context} tokens per request; KV cache {KvCache}")]
    private static partial void LogKvCache(ILogger logger, string model, int context, string kvCache);

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
