using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Qwen.Inference.Generation;
using Qwen.Inference.Tokenization;
using Qwen.Serving.Http;
using Qwen.Server.Tests.Fakes;
using Qwen.Testing;

namespace Qwen.Server.Tests;

/// <summary>The standalone server on a free 127.0.0.1 port, over the real tokenizer and a fake (or scripted) engine.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private static readonly Lazy<QwenTokenizer> SharedTokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    private TestServer(WebApplication app, FakeGenerationEngine fake, ScriptedReActEngine engine, Uri baseUri)
    {
        App = app;
        Fake = fake;
        Engine = engine;
        BaseUri = baseUri;
    }

    public const string ModelName = "qwen-test";

    public WebApplication App { get; }
    public FakeGenerationEngine Fake { get; }
    public ScriptedReActEngine Engine { get; }
    /// <summary>For example http://127.0.0.1:41234/.</summary>
    public Uri BaseUri { get; }

    public static QwenTokenizer Tokenizer => SharedTokenizer.Value;

    /// <summary>Starts a server; <paramref name="args"/> are the server's own command-line switches.</summary>
    public static async Task<TestServer> StartAsync(string[]? args = null, int maxContext = 2048, Action<HttpApiOptions>? configure = null)
    {
        var fake = new FakeGenerationEngine(Tokenizer, maxContext, ModelName);
        var engine = new ScriptedReActEngine(fake);
        var app = QwenServerApp.Build([.. args ?? [], "--urls", "http://127.0.0.1:0"], services =>
        {
            services.AddSingleton<IGenerationEngineProvider>(new GenerationEngineProvider(engine));
            if (configure is not null)
            {
                services.Configure(configure);
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestServer(app, fake, engine, new Uri(address.TrimEnd('/') + "/"));
    }

    public HttpClient CreateClient(string? bearer = null)
    {
        var client = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(60) };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        }
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
