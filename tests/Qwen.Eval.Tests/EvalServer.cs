using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Inference.Generation;
using Qwen.Serving.Http;

namespace Qwen.Eval.Tests;

/// <summary>The standalone server (Qwen.Server) on a free 127.0.0.1 port: on a package with its own switches, or over a given engine.</summary>
public sealed class EvalServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EvalServer(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    /// <summary>The OpenAI base URL, http://127.0.0.1:port/v1/.</summary>
    public Uri BaseUri { get; }

    /// <summary>Starts the server exactly as <c>dotnet run -- --model … args</c> would.</summary>
    public static Task<EvalServer> StartAsync(string package, params string[] args) =>
        StartCoreAsync(["--model", package, "--threads", "1", .. args], null);

    /// <summary>Starts the server over <paramref name="engine"/> (no package).</summary>
    public static Task<EvalServer> StartAsync(IGenerationEngine engine) =>
        StartCoreAsync([], services => services.AddSingleton<IGenerationEngineProvider>(new GenerationEngineProvider(engine)));

    private static async Task<EvalServer> StartCoreAsync(string[] args, Action<IServiceCollection>? configure)
    {
        var app = Qwen.Server.QwenServerApp.Build([.. args, "--urls", "http://127.0.0.1:0"], configure);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EvalServer(app, new Uri(address.TrimEnd('/') + "/v1/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
