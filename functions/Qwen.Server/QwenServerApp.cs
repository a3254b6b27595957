using Microsoft.Extensions.Options;
using Qwen.Inference.Scheduling;
using Qwen.Serving.Http;

namespace Qwen.Server;

/// <summary>Builds the standalone server: command line → configuration, the shared API, and the engine loaded at start-up.</summary>
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
        ["--dynamic-ntk"] = "Qwen:Engine:DynamicNtk",
        ["--logn"] = "Qwen:Engine:LognAttention",
    };

    /// <summary>Creates the application. <paramref name="configureServices"/> runs last, so tests can replace the engine provider.</summary>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddCommandLine(args, SwitchMappings.ToDictionary(k => k.Key, k => k.Value));
        builder.Services.AddQwenHttpApi(builder.Configuration);
        builder.Services.Configure<HttpApiOptions>(o => o.AllowLoopbackWithoutKey = true);
        builder.Services.AddSingleton<EngineMetrics>();
        builder.Services.AddSingleton<IGenerationEngineProvider>(sp =>
            new GenerationEngineProvider(ct => EngineLoader.LoadAsync(builder.Configuration, sp.GetRequiredService<EngineMetrics>(), ct)));
        builder.Services.AddHostedService<EngineWarmup>();
        // The API enforces its own limit (Qwen:Serving:MaxRequestBodyBytes, answered with OpenAI's 413 JSON); Kestrel's
        // default cap (30 MB) stays as the outer bound.
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapQwenHttpApi();
        var options = app.Services.GetRequiredService<IOptions<HttpApiOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Qwen.Server");
        if (string.IsNullOrEmpty(options.ApiKey))
        {
            LogLoopbackOnly(logger);
        }
        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API key configured (--api-key): serving requests from loopback (127.0.0.1, ::1) only; other callers get 401.")]
    private static partial void LogLoopbackOnly(ILogger logger);
}
