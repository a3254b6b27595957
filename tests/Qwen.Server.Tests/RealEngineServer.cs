using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Qwen.Server.Tests;

/// <summary>The standalone server exactly as <c>dotnet run -- --model</c> starts it, on the real tiny package (random weights), on a free 127.0.0.1 port.</summary>
public sealed class RealEngineServer : IAsyncDisposable
{
    private RealEngineServer(WebApplication app, Uri baseUri, HttpClient client, string model)
    {
        App = app;
        BaseUri = baseUri;
        Client = client;
        Model = model;
    }

    public WebApplication App { get; }
    /// <summary>For example http://127.0.0.1:41234/.</summary>
    public Uri BaseUri { get; }
    /// <summary>A client for <see cref="BaseUri"/> that sends the key given at start (if any).</summary>
    public HttpClient Client { get; }
    /// <summary>The model id the server reports on /v1/models.</summary>
    public string Model { get; }

    /// <summary>Starts the server with <c>--model</c> (the tiny package) and <c>--urls</c> set, plus <paramref name="args"/>; <paramref name="key"/> is passed as <c>--api-key</c> and sent by <see cref="Client"/>.</summary>
    public static async Task<RealEngineServer> StartAsync(IEnumerable<string> args, string? key = null, Action<IServiceCollection>? configureServices = null)
    {
        var package = await TinyPackage.GetAsync();
        string[] keyArgs = key is null ? [] : ["--api-key", key];
        var app = QwenServerApp.Build(["--model", package, "--urls", "http://127.0.0.1:0", .. keyArgs, .. args], configureServices);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var baseUri = new Uri(address.TrimEnd('/') + "/");
        var client = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(120) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        using var models = JsonDocument.Parse(await client.GetStringAsync("v1/models"));
        var model = models.RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;
        return new RealEngineServer(app, baseUri, client, model);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
