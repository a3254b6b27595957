using Microsoft.Extensions.Options;
using Qwen.Inference.Scheduling;
using Qwen.Serving.Batch;
using Qwen.Serving.Forwarding;
using Qwen.Serving.Http;

namespace Qwen.Server;

/// <summary>Builds the standalone server: command line → configuration, then one of two roles. With <c>--model</c> it is a worker
/// (and a complete server): the shared API over the engine, loaded at start-up. With <c>--worker URL</c> it is a front that holds
/// no model: it checks the client's key and forwards every API route to that worker with <c>--worker-key</c>.</summary>
public static partial class QwenServerApp
{
    /// <summary>Command-line switches and the configuration keys they set.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        ["--model"] = "Qwen:Model:PackagePath",
        ["--api-key"] = "Qwen:Serving:ApiKey",
        ["--model-name"] = "Qwen:Serving:ModelName",
        ["--execution-provider"] = "Qwen:Engine:ExecutionProvider",
        ["--max-batch-size"] = "Qwen:Engine:MaxBatchSize",
        ["--max-queue"] = "Qwen:Engine:MaxQueueLength",
        ["--threads"] = "Qwen:Engine:IntraOpThreads",
        ["--max-context"] = "Qwen:Engine:MaxContext",
        ["--kv-cache-bytes"] = "Qwen:Engine:KvCacheBudgetBytes",
        ["--dynamic-ntk"] = "Qwen:Engine:DynamicNtk",
        ["--logn"] = "Qwen:Engine:LognAttention",
        ["--worker"] = "Qwen:Worker:BaseUri",
        ["--worker-key"] = "Qwen:Worker:ApiKey",
        ["--data-dir"] = "Qwen:Batch:DataDirectory",
    };

    /// <summary>Creates the application. <paramref name="configureServices"/> runs last, so tests can replace the engine provider.</summary>
    /// <exception cref="ArgumentException">An unknown command-line option, or a keyless server that would listen beyond loopback.</exception>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        ServerCommandLine.CheckOptions(args, SwitchMappings.Keys);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddCommandLine(args, SwitchMappings.ToDictionary(k => k.Key, k => k.Value));
        builder.Services.AddQwenHttpApi(builder.Configuration);
        builder.Services.Configure<HttpApiOptions>(o => o.AllowLoopbackWithoutKey = true);
        var front = WorkerForwardingServiceCollectionExtensions.HasWorker(builder.Configuration);
        if (front)
        {
            builder.Services.AddQwenWorkerForwarding(builder.Configuration);
        }
        else
        {
            builder.Services.AddSingleton<EngineMetrics>();
            builder.Services.AddSingleton<IGenerationEngineProvider>(sp => new GenerationEngineProvider(
                ct => EngineLoader.LoadAsync(builder.Configuration, sp.GetRequiredService<EngineMetrics>(), ct,
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EngineLoader))),
                EngineProviderServiceCollectionExtensions.Stopping(sp)));
            builder.Services.AddQwenEngineWarmup(stopHostOnFailure: true);
            // Batch API: files and batch state under --data-dir, an in-process queue that resumes unfinished batches at start.
            // A front forwards /v1/files and /v1/batches to its worker with the rest of /v1.
            builder.Services.AddQwenLocalBatch(builder.Configuration);
        }
        // The API enforces its own limit (Qwen:Serving:MaxRequestBodyBytes, answered with OpenAI's 413 JSON); Kestrel's
        // default cap (30 MB) stays as the outer bound.
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        if (front)
        {
            app.MapQwenWorkerFront();
        }
        else
        {
            app.MapQwenHttpApi();
            app.MapQwenBatchApi();
        }
        var options = app.Services.GetRequiredService<IOptions<HttpApiOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Qwen.Server");
        if (string.IsNullOrEmpty(options.ApiKey) && options.ApiKeys.Count == 0)
        {
            // Keyless is for a developer's own machine: every URL it listens on must be loopback (Kestrel's default is).
            var urls = (builder.Configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Concat(builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
            ServerCommandLine.CheckKeylessListening(urls);
            LogLoopbackOnly(logger);
        }
        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API key configured (--api-key): serving requests from loopback (127.0.0.1, ::1) only; other callers get 401.")]
    private static partial void LogLoopbackOnly(ILogger logger);
}
