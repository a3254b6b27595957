using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Functions.Http;
using Qwen.Inference.Constraints;
using Qwen.Inference.Tokenization;
using Qwen.Server.Tests.Fakes;
using Qwen.Serving.Http;
using Qwen.Testing;

namespace Qwen.Functions.Tests.Http;

/// <summary>The HTTP functions: anonymous triggers on the shared routes, the app's own key check, and the shared handlers behind them.</summary>
public sealed class OpenAiFunctionsTests
{
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    [Fact]
    public void EveryFunction_IsAnonymousOnASharedRouteWithoutApiPrefix()
    {
        var routes = typeof(HttpApiRoutes).GetFields().Select(f => (string)f.GetRawConstantValue()!).ToHashSet();
        var methods = typeof(OpenAiFunctions).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly);
        Assert.Equal(routes.Count, methods.Length);
        foreach (var method in methods)
        {
            Assert.Equal(method.Name, method.GetCustomAttribute<FunctionAttribute>()!.Name);
            var trigger = method.GetParameters()[0].GetCustomAttribute<HttpTriggerAttribute>()!;
            Assert.Equal(AuthorizationLevel.Anonymous, trigger.AuthLevel);
            Assert.Contains(trigger.Route!, routes);
            routes.Remove(trigger.Route!);
        }
        Assert.Empty(routes);
        // host.json must drop the default "api/" prefix so the routes match OpenAI's.
        using var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "host.json")));
        Assert.Equal("", host.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }

    [Fact]
    public async Task ChatCompletions_WithBearerKey_ReturnsCompletionJson()
    {
        var (functions, fake) = Create("fn-key-0123456789abcdef0123456789ab");
        fake.Respond = _ => "Hello, world! How are you today?";
        var context = Context("POST", "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", bearer: "fn-key-0123456789abcdef0123456789ab");
        var result = await functions.ChatCompletions(context.Request);
        Assert.IsType<EmptyResult>(result);
        Assert.Equal(200, context.Response.StatusCode);
        using var doc = JsonDocument.Parse(Body(context));
        var choice = doc.RootElement.GetProperty("choices")[0];
        Assert.Equal("Hello, world! How are you today?", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(20, doc.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task AzureChatCompletions_StreamWithApiKeyHeader_WritesSseEndingWithDone()
    {
        var (functions, fake) = Create("fn-key-0123456789abcdef0123456789ab");
        fake.Respond = _ => "Hi there";
        var context = Context("POST", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true}", apiKey: "fn-key-0123456789abcdef0123456789ab", query: "?api-version=2024-10-21");
        await functions.AzureChatCompletions(context.Request, "qwen-test");
        Assert.Equal(200, context.Response.StatusCode);
        Assert.StartsWith("text/event-stream", context.Response.ContentType, StringComparison.Ordinal);
        var body = Body(context);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        Assert.Equal(5, body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Length); // role, "Hi", " there", finish, [DONE]
    }

    [Fact]
    public async Task ChatCompletions_NoKeyConfigured_RefusesEvenLoopback()
    {
        var (functions, _) = Create(apiKey: null);
        var context = Context("POST", "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        context.Connection.RemoteIpAddress = IPAddress.Loopback; // the Functions host proxies every request over loopback
        await functions.ChatCompletions(context.Request);
        Assert.Equal(401, context.Response.StatusCode);
        using var doc = JsonDocument.Parse(Body(context));
        Assert.Equal("invalid_api_key", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("Qwen__Serving__ApiKey", doc.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthAndReady_WithoutKey_AnswerProbes()
    {
        var (functions, _) = Create("fn-key-0123456789abcdef0123456789ab");
        var health = Context("GET", null);
        await functions.Health(health.Request);
        Assert.Equal(200, health.Response.StatusCode);
        Assert.Equal("{\"status\":\"ok\"}", Body(health));
        var ready = Context("GET", null);
        await functions.Ready(ready.Request);
        Assert.Equal(200, ready.Response.StatusCode);
        Assert.Equal("{\"status\":\"ready\",\"model\":\"qwen-test\"}", Body(ready));
    }

    [Fact]
    public async Task Metrics_AfterAChat_CountsRequestAndTokens()
    {
        var (functions, fake) = Create("fn-key-0123456789abcdef0123456789ab");
        fake.Respond = _ => "Hello, world! How are you today?";
        await functions.ChatCompletions(Context("POST", "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", bearer: "fn-key-0123456789abcdef0123456789ab").Request);
        var metrics = Context("GET", null, bearer: "fn-key-0123456789abcdef0123456789ab");
        await functions.Metrics(metrics.Request);
        var text = Body(metrics);
        Assert.Contains("qwen_requests_total{route=\"chat_completions\",status=\"200\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("qwen_prompt_tokens_total 20\n", text, StringComparison.Ordinal);
        Assert.Contains("qwen_completion_tokens_total 9\n", text, StringComparison.Ordinal);
        Assert.Contains("qwen_time_to_first_token_seconds_count 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatAndCompletions_ResponseFormat_ReachTheEngineAsAConstraint()
    {
        const string Key = "fn-key-0123456789abcdef0123456789ab";
        var (functions, fake) = Create(Key);
        fake.Respond = _ => "{\"ok\": true}";
        const string Schema = "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\",\"schema\":{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"],\"additionalProperties\":false}}}";
        var chat = Context("POST", "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true," + Schema + "}", bearer: Key);
        await functions.ChatCompletions(chat.Request);
        Assert.Equal(200, chat.Response.StatusCode);
        var completion = Context("POST", "{\"model\":\"qwen-test\",\"prompt\":\"Hi\",\"response_format\":{\"type\":\"json_object\"}}", bearer: Key);
        await functions.Completions(completion.Request);
        Assert.Equal(200, completion.Response.StatusCode);
        var requests = fake.Requests.ToArray();
        Assert.IsType<JsonSchemaGrammar>(requests[0].Constraint!.Grammar);
        Assert.IsType<JsonGrammar>(requests[1].Constraint!.Grammar);
    }

    private static (OpenAiFunctions Functions, FakeGenerationEngine Fake) Create(string? apiKey)
    {
        var settings = new Dictionary<string, string?> { ["Qwen:Serving:ApiKey"] = apiKey };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var fake = new FakeGenerationEngine(Tokenizer.Value, 2048, "qwen-test");
        var services = new ServiceCollection().AddLogging();
        services.AddQwenHttpFunctions(configuration);
        services.AddSingleton<IGenerationEngineProvider>(new GenerationEngineProvider(fake));
        var provider = services.BuildServiceProvider();
        return (ActivatorUtilities.CreateInstance<OpenAiFunctions>(provider), fake);
    }

    private static DefaultHttpContext Context(string method, string? body, string? bearer = null, string? apiKey = null, string query = "")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.QueryString = new QueryString(query);
        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = "application/json";
        }
        if (bearer is not null)
        {
            context.Request.Headers.Authorization = "Bearer " + bearer;
        }
        if (apiKey is not null)
        {
            context.Request.Headers["api-key"] = apiKey;
        }
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string Body(HttpContext context) => Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());
}
