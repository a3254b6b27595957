using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Serving.Forwarding;
using Qwen.Serving.Http;
using Qwen.Server.Tests.Fakes;

namespace Qwen.Server.Tests.Forwarding;

/// <summary>Two servers on 127.0.0.1 as the issue describes them: a worker (<c>--model</c>, or the fake engine) whose key is the
/// service credential, and a front (<c>--worker URL --worker-key</c>, no model) that clients call with their own key.</summary>
public sealed class FrontAndWorker : IAsyncDisposable
{
    public const string ClientKey = "client-key-0123456789-abcdefghijklmnop";
    public const string ServiceKey = "service-key-9876543210-abcdefghijklmnop";

    /// <summary>A second client key the front accepts (another tenant).</summary>
    public const string OtherClientKey = "other-client-key-0123456789-abcdefghij";

    private readonly string[] _workerArgs;
    private readonly Action<IServiceCollection>? _workerServices;

    private FrontAndWorker(WebApplication front, Uri frontUri, WebApplication worker, Uri workerUri, string[] workerArgs, Action<IServiceCollection>? workerServices)
    {
        Front = front;
        FrontUri = frontUri;
        Worker = worker;
        WorkerUri = workerUri;
        _workerArgs = workerArgs;
        _workerServices = workerServices;
    }

    public WebApplication Front { get; }
    public Uri FrontUri { get; }
    public WebApplication? Worker { get; private set; }
    public Uri WorkerUri { get; }

    /// <summary>The front's counters (requests forwarded, refused for the key, worker outages).</summary>
    public ForwardingMetrics FrontMetrics => Front.Services.GetRequiredService<ForwardingMetrics>();

    /// <summary>A worker over <paramref name="engine"/> (the fake engine from <see cref="TestServer"/>'s family).</summary>
    public static Task<FrontAndWorker> StartAsync(ScriptedReActEngine engine) =>
        StartAsync([], services => services.AddSingleton<IGenerationEngineProvider>(new GenerationEngineProvider(engine)));

    /// <summary>A worker started with <paramref name="workerArgs"/> (for example <c>--model DIR</c>).</summary>
    public static async Task<FrontAndWorker> StartAsync(string[] workerArgs, Action<IServiceCollection>? workerServices = null)
    {
        var (worker, workerUri) = await StartWorkerAsync(workerArgs, workerServices, "http://127.0.0.1:0");
        var front = QwenServerApp.Build(["--urls", "http://127.0.0.1:0", "--api-key", ClientKey, "--Qwen:Serving:ApiKeys:0", OtherClientKey,
            "--worker", workerUri.ToString(), "--worker-key", ServiceKey]);
        await front.StartAsync();
        return new FrontAndWorker(front, Address(front), worker, workerUri, workerArgs, workerServices);
    }

    /// <summary>Stops the worker process's server (the front stays up).</summary>
    public async Task StopWorkerAsync()
    {
        if (Worker is { } worker)
        {
            Worker = null;
            await worker.StopAsync();
            await worker.DisposeAsync();
        }
    }

    /// <summary>Starts a new worker on the same address.</summary>
    public async Task RestartWorkerAsync()
    {
        await StopWorkerAsync();
        (Worker, _) = await StartWorkerAsync(_workerArgs, _workerServices, WorkerUri.ToString().TrimEnd('/'));
    }

    public HttpClient CreateFrontClient(string? key = ClientKey) => Client(FrontUri, key);

    public HttpClient CreateWorkerClient(string? key = ServiceKey) => Client(WorkerUri, key);

    public async ValueTask DisposeAsync()
    {
        await StopWorkerAsync();
        await Front.StopAsync();
        await Front.DisposeAsync();
    }

    private static async Task<(WebApplication, Uri)> StartWorkerAsync(string[] args, Action<IServiceCollection>? services, string url)
    {
        var worker = QwenServerApp.Build([.. args, "--urls", url, "--api-key", ServiceKey], services);
        await worker.StartAsync();
        return (worker, Address(worker));
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");

    private static HttpClient Client(Uri baseUri, string? key)
    {
        var client = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(120) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }
}
