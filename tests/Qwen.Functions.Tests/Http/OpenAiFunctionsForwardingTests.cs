using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Functions.Http;
using Qwen.Inference.Tokenization;
using Qwen.Server.Tests.Fakes;
using Qwen.Serving.Forwarding;
using Qwen.Serving.Http;
using Qwen.Testing;

namespace Qwen.Functions.Tests.Http;

/// <summary>The HTTP functions in the API role (<c>Qwen__Worker__BaseUri</c> set): each function hands its HttpContext to the
/// shared forwarder, over real HTTP on 127.0.0.1, to a worker serving the shared handlers on the fake engine.</summary>
public sealed class OpenAiFunctionsForwardingTests : IAsyncLifetime
{
    private const string ClientKey = "client-key-for-the-api-app-0123456789";
    private const string ServiceKey = "service-key-for-the-worker-0123456789";
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    private readonly FakeGenerationEngine _fake = new(Tokenizer.Value, 2048, "qwen-test");
    private WebApplication _worker = null!;
    private WebApplication _api = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        // The worker: the shared API over the fake engine, accepting only the service credential.
        var worker = WebApplication.CreateSlimBuilder();
        worker.WebHost.UseUrls("http://127.0.0.1:0");
        worker.Services.AddQwenHttpApi(Configuration(new() { ["Qwen:Serving:ApiKey"] = ServiceKey }));
        worker.Services.AddSingleton<IGenerationEngineProvider>(new GenerationEngineProvider(_fake));
        _worker = worker.Build();
        _worker.MapQwenHttpApi();
        await _worker.StartAsync();

        // The API app: the Functions registration, each function invoked with the request's HttpContext as the
        // Functions ASP.NET Core integration does.
        var api = WebApplication.CreateSlimBuilder();
        api.WebHost.UseUrls("http://127.0.0.1:0");
        api.Services.AddLogging().AddQwenHttpFunctions(Configuration(new()
        {
            ["Qwen:Serving:ApiKey"] = ClientKey,
            ["Qwen:Worker:BaseUri"] = _worker.Urls.First(),
            ["Qwen:Worker:ApiKey"] = ServiceKey,
        }));
        _api = api.Build();
        OpenAiFunctions F(HttpContext c) => ActivatorUtilities.CreateInstance<OpenAiFunctions>(c.RequestServices);
        _api.MapPost("/" + HttpApiRoutes.ChatCompletions, async c => await F(c).ChatCompletions(c.Request));
        _api.MapPost("/" + HttpApiRoutes.Tokenize, async c => await F(c).Tokenize(c.Request));
        _api.MapGet("/" + HttpApiRoutes.Ready, async c => await F(c).Ready(c.Request));
        await _api.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(_api.Urls.First() + "/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
        await _worker.DisposeAsync();
    }

    [Fact]
    public async Task ChatCompletions_ApiRole_ForwardsWithServiceCredentialAndStreams()
    {
        Assert.True(_api.Services.GetRequiredService<WorkerForwarder>().IsEnabled);
        _fake.Respond = _ => "Hello, world!";
        using var chat = Post("v1/chat/completions", "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", ClientKey);
        using var response = await _client.SendAsync(chat);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using (var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            Assert.Equal("Hello, world!", doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        }

        using var stream = Post("v1/chat/completions", "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true}", ClientKey);
        using var streamed = await _client.SendAsync(stream, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("data: [DONE]\n\n", await streamed.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var tokenize = Post("tokenize", "{\"content\":\"你好\"}", ClientKey);
        using var tokens = await _client.SendAsync(tokenize);
        Assert.Equal("{\"tokens\":[108386]}", await tokens.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("ready")).StatusCode);
    }

    [Fact]
    public async Task ChatCompletions_ApiRoleWrongKey_401WithoutContactingWorker()
    {
        foreach (var key in new[] { "wrong", ServiceKey })
        {
            using var request = Post("v1/chat/completions", "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", key);
            using var response = await _client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        var counters = _api.Services.GetRequiredService<ForwardingMetrics>();
        Assert.Equal(2, counters.Unauthorized);
        Assert.Equal(0, counters.Forwarded);
        Assert.Empty(_fake.Requests);
    }

    private static HttpRequestMessage Post(string path, string json, string key) => new(HttpMethod.Post, path)
    {
        Content = new StringContent(json, Encoding.UTF8, "application/json"),
        Headers = { { "api-key", key } },
    };

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
}
