using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Functions.Http;
using Qwen.Inference.Tokenization;
using Qwen.Server.Tests.Fakes;
using Qwen.Serving.Batch;
using Qwen.Serving.Http;
using Qwen.Testing;

namespace Qwen.Functions.Tests.Batch;

/// <summary>Batch lines answered by the online endpoint's own handler (the HTTP API is registered, as in the Functions app).</summary>
public sealed class OpenAiHandlersBatchTests : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));
    private readonly BlobContainerClient _container = new(AzuriteFixture.ConnectionString, AzuriteFixture.UniqueName("batches"),
        new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_05_05));

    public OpenAiHandlersBatchTests(AzuriteFixture azurite) => _ = azurite;

    public async Task InitializeAsync() => await _container.CreateAsync();

    public async Task DisposeAsync() => await _container.DeleteIfExistsAsync();

    [Fact]
    public async Task Process_WithHttpApiRegistered_UsesTheOnlineHandler()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Qwen:Serving:ApiKey"] = "batch-key-0123456789abcdef0123456789" }).Build();
        var fake = new FakeGenerationEngine(Tokenizer.Value, 2048, "qwen-test") { Respond = _ => "batch answer" };
        var services = new ServiceCollection().AddLogging();
        services.AddQwenHttpFunctions(configuration);
        services.AddSingleton<IGenerationEngineProvider>(new GenerationEngineProvider(fake));
        services.AddQwenBatch(configuration);
        await using var provider = services.BuildServiceProvider();
        var handler = provider.GetRequiredService<IBatchRequestHandler>();
        Assert.IsType<OpenAiHandlersBatchRequestHandler>(handler);
        await _container.GetBlobClient("in.jsonl").UploadAsync(BinaryData.FromString(
            """{"custom_id": "ok", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "qwen-test", "messages": [{"role": "user", "content": "hi"}]}}""" + "\n" +
            """{"custom_id": "bad", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "qwen-test", "messages": "nope"}}"""));

        var summary = await new BatchProcessor(_container, handler, new BatchOptions()).ProcessAsync(new BatchMessage("h1", "in.jsonl"));

        Assert.Equal((2, 1, 1), (summary.Total, summary.Succeeded, summary.Failed));
        var output = JsonNode.Parse((await _container.GetBlobClient("h1/output.jsonl").DownloadContentAsync()).Value.Content.ToString().Trim())!;
        Assert.Equal("ok", output["custom_id"]!.GetValue<string>());
        Assert.Equal(200, output["response"]!["status_code"]!.GetValue<int>());
        Assert.Equal("chat.completion", output["response"]!["body"]!["object"]!.GetValue<string>());
        Assert.Equal("batch answer", output["response"]!["body"]!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        var error = JsonNode.Parse((await _container.GetBlobClient("h1/errors.jsonl").DownloadContentAsync()).Value.Content.ToString().Trim())!;
        Assert.Equal("bad", error["custom_id"]!.GetValue<string>());
        Assert.Equal(400, error["response"]!["status_code"]!.GetValue<int>());
        Assert.Equal(error["response"]!["body"]!["error"]!["message"]!.GetValue<string>(), error["error"]!["message"]!.GetValue<string>());
        Assert.Single(fake.Requests);
    }
}
