using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Qwen.Serving.Http;
using Qwen.Serving.Orchestrations;

namespace Qwen.Serving.Tests.Orchestrations;

/// <summary>The API app's remote turn model against the GPU worker's endpoint, over real HTTP on 127.0.0.1.</summary>
public sealed class HttpChatTurnModelTests : IAsyncLifetime
{
    private readonly ScriptedChatTurnModel _workerModel = new() { Fallback = "remote answer" };
    private WebApplication? _app;
    private Uri _baseUri = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<IChatTurnModel>(_workerModel);
        builder.Services.AddSingleton(Options.Create(new HttpApiOptions { ApiKey = "worker-key" }));
        builder.Services.AddSingleton<ApiKeyAuthorizer>();
        builder.Services.AddSingleton<ChatTurnEndpoint>();
        builder.Services.AddMvcCore(); // IActionResult executors, as the Functions ASP.NET Core integration provides
        _app = builder.Build();
        _app.MapPost("/" + HttpChatTurnModel.Route, async (HttpContext context, ChatTurnEndpoint endpoint) =>
        {
            var result = await endpoint.HandleAsync(context.Request, context.RequestAborted);
            await result.ExecuteResultAsync(new Microsoft.AspNetCore.Mvc.ActionContext { HttpContext = context });
        });
        await _app.StartAsync();
        _baseUri = new Uri(_app.Urls.First() + "/");
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private ServiceProvider Client(string? key) => new ServiceCollection()
        .AddQwenOrchestrations(new OrchestrationOptions { WorkerBaseUri = _baseUri, ApiKey = key })
        .BuildServiceProvider();

    [Fact]
    public async Task GenerateAsync_WithKey_RunsTheTurnOnTheWorker()
    {
        await using var services = Client("worker-key");
        var model = services.GetRequiredService<IChatTurnModel>();
        var request = new ChatTurnRequest { System = "s", Messages = [ChatTurnMessage.User("hi")], Stop = ["x"], MaxTokens = 9, Temperature = 0, Seed = 4 };

        var result = await model.GenerateAsync(request);

        Assert.IsType<HttpChatTurnModel>(model);
        Assert.Equal(new ChatTurnResult("remote answer", "stop", 10, 13), result);
        var seen = Assert.Single(_workerModel.Requests);
        Assert.Equal(request.Messages, seen.Messages);
        Assert.Equal(request with { Messages = seen.Messages, Stop = seen.Stop }, seen);
        Assert.Equal(["x"], seen.Stop);
    }

    [Fact]
    public async Task GenerateAsync_WrongKey_RejectedWith401AndNoTurn()
    {
        await using var services = Client("wrong");

        // A 4xx is the same on every attempt: ChatTurnRejectedException, which TurnRetry does not retry.
        var ex = await Assert.ThrowsAsync<ChatTurnRejectedException>(() => services.GetRequiredService<IChatTurnModel>().GenerateAsync(
            new ChatTurnRequest { Messages = [ChatTurnMessage.User("hi")] }));

        Assert.Equal((int)HttpStatusCode.Unauthorized, ex.StatusCode);
        Assert.Contains("Incorrect API key provided.", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_workerModel.Requests);
    }

    [Fact]
    public async Task GenerateAsync_FromAppSettings_SendsTheServiceCredentialNotTheClientKey()
    {
        // The API app's settings: the clients' key (Qwen__Serving__ApiKey) and the worker's service credential (Qwen__Worker__ApiKey).
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Qwen:Serving:ApiKey"] = "client-key",
            ["Qwen:Worker:BaseUri"] = _baseUri.ToString(),
            ["Qwen:Worker:ApiKey"] = "worker-key",
        }).Build();
        await using var services = new ServiceCollection().AddQwenOrchestrations(settings).BuildServiceProvider();

        var result = await services.GetRequiredService<IChatTurnModel>().GenerateAsync(new ChatTurnRequest { Messages = [ChatTurnMessage.User("hi")] });

        Assert.Equal("remote answer", result.Text);
        Assert.Single(_workerModel.Requests);
    }
}
