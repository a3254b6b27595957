using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Functions.Batch;
using Qwen.Functions.Http;
using Qwen.Inference.Tokenization;
using Qwen.Server.Tests.Fakes;
using Qwen.Serving.Batch;
using Qwen.Serving.Batch.Queue;
using Qwen.Serving.Batch.Storage;
using Qwen.Serving.Http;
using Qwen.Testing;

namespace Qwen.Functions.Tests.Batch;

/// <summary>The Functions app's batch path wired as Program.cs wires it, on Azurite: a Blob container, a Storage queue (Base64, as the trigger reads it),
/// the HTTP functions called with in-memory requests and the queue trigger called with real queue messages.</summary>
public sealed class AzureBatchHost : IAsyncDisposable
{
    public const string Key = "fn-batch-key-0123456789abcdef0123456789";
    private static readonly Lazy<QwenTokenizer> SharedTokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    private readonly ServiceProvider _provider;

    private AzureBatchHost(ServiceProvider provider, BlobContainerClient container, QueueClient queue, QueueClient poisonQueue, FakeGenerationEngine fake, RecordingPolicy requests)
    {
        _provider = provider;
        Container = container;
        Queue = queue;
        PoisonQueue = poisonQueue;
        Fake = fake;
        BlobRequests = requests;
        Api = ActivatorUtilities.CreateInstance<BatchApiFunctions>(provider);
        Triggers = ActivatorUtilities.CreateInstance<BatchQueueFunctions>(provider);
        Online = ActivatorUtilities.CreateInstance<OpenAiFunctions>(provider);
    }

    public BlobContainerClient Container { get; }
    public QueueClient Queue { get; }
    public QueueClient PoisonQueue { get; }
    public FakeGenerationEngine Fake { get; }
    public RecordingPolicy BlobRequests { get; }
    public BatchApiFunctions Api { get; }
    public BatchQueueFunctions Triggers { get; }
    public OpenAiFunctions Online { get; }
    public static QwenTokenizer Tokenizer => SharedTokenizer.Value;

    public static async Task<AzureBatchHost> StartAsync(Dictionary<string, string?>? settings = null, Func<IBatchStorage, IBatchStorage>? wrapStorage = null)
    {
        var requests = new RecordingPolicy();
        var blobOptions = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_05_05);
        blobOptions.AddPolicy(requests, HttpPipelinePosition.PerCall);
        var container = new BlobContainerClient(AzuriteFixture.ConnectionString, AzuriteFixture.UniqueName("batches"), blobOptions);
        await container.CreateAsync();
        var queueName = AzuriteFixture.UniqueName("qwen-batches");
        var queue = new QueueClient(AzuriteFixture.ConnectionString, queueName, StorageBatchQueue.CreateClientOptions());
        var poison = new QueueClient(AzuriteFixture.ConnectionString, queueName + "-poison", StorageBatchQueue.CreateClientOptions());
        await queue.CreateAsync();
        await poison.CreateAsync();

        var values = new Dictionary<string, string?> { ["Qwen:Serving:ApiKey"] = Key, ["Qwen:Batch:ChunkSize"] = "2" };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
        {
            values[k] = v;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var fake = new FakeGenerationEngine(Tokenizer, 2048, "qwen-test");
        var services = new ServiceCollection().AddLogging();
        services.AddKeyedSingleton(BatchServiceCollectionExtensions.BatchContainerKey, container);
        services.AddKeyedSingleton(BatchServiceCollectionExtensions.BatchQueueKey, queue);
        if (wrapStorage is not null)
        {
            services.AddSingleton(wrapStorage(new BlobBatchStorage(container)));
        }
        services.AddQwenHttpFunctions(configuration);
        services.AddSingleton<IGenerationEngineProvider>(new GenerationEngineProvider(fake));
        services.AddQwenBatch(configuration); // what FlowServiceCollectionExtensions.AddQwenFlow adds in Program.cs
        return new AzureBatchHost(services.BuildServiceProvider(), container, queue, poison, fake, requests);
    }

    /// <summary>Calls an HTTP function with an in-memory request carrying the key.</summary>
    public async Task<(int Status, string Body)> InvokeAsync(Func<HttpRequest, Task<IActionResult>> function, string method, string path, HttpContent? content = null)
    {
        var context = new DefaultHttpContext { RequestServices = _provider };
        context.Connection.RemoteIpAddress = IPAddress.Parse("10.0.0.7");
        context.Request.Method = method;
        var query = path.IndexOf('?', StringComparison.Ordinal);
        context.Request.Path = "/" + (query < 0 ? path : path[..query]);
        context.Request.QueryString = new QueryString(query < 0 ? "" : path[query..]);
        context.Request.Headers["api-key"] = Key;
        if (content is not null)
        {
            var bytes = await content.ReadAsByteArrayAsync();
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = content.Headers.ContentType!.ToString();
        }
        var body = new MemoryStream();
        context.Response.Body = body;
        Assert.IsType<EmptyResult>(await function(context.Request));
        return (context.Response.StatusCode, Encoding.UTF8.GetString(body.ToArray()));
    }

    public async Task<JsonNode> JsonAsync(Func<HttpRequest, Task<IActionResult>> function, string method, string path, HttpContent? content = null, int status = 200)
    {
        var (got, body) = await InvokeAsync(function, method, path, content);
        Assert.True(got == status, $"{method} {path}: {got} {body}");
        return JsonNode.Parse(body)!;
    }

    public async Task<string> UploadAsync(string jsonl)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(jsonl)), "file", "input.jsonl" },
        };
        return (await JsonAsync(Api.CreateFile, "POST", "v1/files", form))["id"]!.GetValue<string>();
    }

    public async Task<JsonNode> CreateBatchAsync(string jsonl, string endpoint = "/v1/chat/completions")
    {
        var fileId = await UploadAsync(jsonl);
        return await JsonAsync(Api.CreateBatch, "POST", "v1/batches",
            JsonContent(new JsonObject { ["input_file_id"] = fileId, ["endpoint"] = endpoint, ["completion_window"] = "24h" }));
    }

    public Task<JsonNode> RetrieveAsync(string batchId) => JsonAsync(r => Api.RetrieveBatch(r, batchId), "GET", $"v1/batches/{batchId}");

    public static StringContent JsonContent(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>Acts as the Functions host: delivers each visible message to the trigger, deletes it on success, and on failure makes it
    /// visible again, until the queue is empty. Returns how many deliveries failed.</summary>
    public async Task<int> PumpAsync()
    {
        var failures = 0;
        while (true)
        {
            QueueMessage[] messages = (await Queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30))).Value;
            if (messages.Length == 0)
            {
                return failures;
            }
            var message = messages[0];
            try
            {
                await Triggers.Generate(message, default);
                await Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
            catch (Exception) when (message.DequeueCount < BatchQueueFunctions.MaxDequeueCount)
            {
                failures++;
                await Queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, (string?)null, TimeSpan.Zero);
            }
            catch (Exception)
            {
                // maxDequeueCount reached: the host moves the message to <queue>-poison.
                failures++;
                await PoisonQueue.SendMessageAsync(message.MessageText);
                await Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Container.DeleteIfExistsAsync();
        await Queue.DeleteIfExistsAsync();
        await PoisonQueue.DeleteIfExistsAsync();
        await _provider.DisposeAsync();
    }

    /// <summary>Records every Blob request as "METHOD /container/name".</summary>
    public sealed class RecordingPolicy : HttpPipelineSynchronousPolicy
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _requests = new();

        public IReadOnlyList<string> Requests => _requests.ToArray();

        public void Clear() => _requests.Clear();

        public override void OnSendingRequest(HttpMessage message)
            => _requests.Enqueue($"{message.Request.Method} {message.Request.Uri.Path}");
    }
}
