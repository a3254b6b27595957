using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Qwen.Functions;
using Qwen.Serving.Batch;
using Qwen.Serving.Forwarding;
using Qwen.Serving.Http;
using Qwen.Serving.ModelCache;
using Qwen.Serving.Orchestrations;

namespace Qwen.Functions.Tests;

/// <summary>The Functions app as deployed: the host built from the registration Program.cs calls, once per role with the settings
/// infra/ gives that app, and every [Function] class created from it with all its dependencies.</summary>
public sealed class QwenFunctionsServiceCollectionExtensionsTests
{
    private static readonly Dictionary<string, string?> Common = new()
    {
        ["Qwen:Serving:ModelName"] = "qwen-7b-chat",
        ["Qwen:Serving:MaxRequestBodyBytes"] = "1048576",
        ["Qwen:Batch:QueueName"] = "batch-work",
        ["Qwen:Batch:ContainerName"] = "batches",
        ["QwenStorage:blobServiceUri"] = "https://stdata.blob.core.windows.net/",
        ["QwenStorage:queueServiceUri"] = "https://stdata.queue.core.windows.net/",
        ["QwenStorage:credential"] = "managedidentity",
        ["QwenStorage:clientId"] = "00000000-0000-0000-0000-000000000001",
        ["AzureWebJobsStorage:accountName"] = "sthost",
        ["AzureWebJobsStorage:credential"] = "managedidentity",
        ["AZURE_CLIENT_ID"] = "00000000-0000-0000-0000-000000000001",
    };

    private static readonly Dictionary<string, string?> Api = new(Common)
    {
        ["Qwen:Serving:ApiKey"] = "client-key-from-key-vault-0123456789",
        ["Qwen:Worker:BaseUri"] = "https://worker.internal.example.azurecontainerapps.io",
        ["Qwen:Worker:ApiKey"] = "service-key-from-key-vault-0123456789",
    };

    private static readonly Dictionary<string, string?> Worker = new(Common)
    {
        ["Qwen:Serving:ApiKey"] = "service-key-from-key-vault-0123456789",
        ["Qwen:Model:BlobContainerUri"] = "https://stdata.blob.core.windows.net/models",
        ["Qwen:Model:Name"] = "qwen-7b-chat",
        ["Qwen:Model:Version"] = "int4",
        ["Qwen:Model:CacheDirectory"] = "/mnt/model-cache",
        ["Qwen:Engine:ExecutionProvider"] = "cuda",
    };

    public static TheoryData<string> Roles => new() { "api", "worker" };

    [Theory]
    [MemberData(nameof(Roles))]
    public void AddQwenFunctionsApp_EachRole_CreatesEveryFunctionClass(string role)
    {
        using var host = Build(role == "api" ? Api : Worker, out _);
        var classes = typeof(QwenFunctionsServiceCollectionExtensions).Assembly.GetTypes()
            .Where(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static).Any(m => m.GetCustomAttribute<FunctionAttribute>() is not null))
            .ToArray();
        Assert.Contains(classes, t => t.Name == "OpenAiFunctions");
        Assert.True(classes.Length >= 5, $"found only {string.Join(", ", classes.Select(c => c.Name))}");
        foreach (var type in classes.Where(t => !(t.IsAbstract && t.IsSealed)))
        {
            // The Functions worker creates each class per invocation the same way (constructor injection from the host's services).
            var instance = ActivatorUtilities.CreateInstance(host.Services, type);
            Assert.NotNull(instance);
        }
        // Every activity and batch dependency resolves too (they are created lazily by the host at trigger time).
        Assert.NotNull(host.Services.GetRequiredService<GenerateTurnActivity>());
        Assert.NotNull(host.Services.GetRequiredService<BatchProcessor>());
    }

    [Fact]
    public void AddQwenFunctionsApp_ApiRole_ForwardsAndLoadsNoModel()
    {
        using var host = Build(Api, out var services);
        Assert.True(host.Services.GetRequiredService<WorkerForwarder>().IsEnabled);
        Assert.IsType<HttpChatTurnModel>(host.Services.GetRequiredService<IChatTurnModel>());
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(EngineWarmupService));
        Assert.Null(host.Services.GetService<BlobModelCache>());
    }

    [Fact]
    public void AddQwenFunctionsApp_WorkerRole_LoadsModelAtStartAndServesIt()
    {
        using var host = Build(Worker, out var services);
        Assert.False(host.Services.GetRequiredService<WorkerForwarder>().IsEnabled);
        Assert.IsType<EngineChatTurnModel>(host.Services.GetRequiredService<IChatTurnModel>());
        Assert.Contains(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(EngineWarmupService));
        Assert.NotNull(host.Services.GetRequiredService<BlobModelCache>());
        Assert.Null(host.Services.GetRequiredService<IGenerationEngineProvider>().Loaded);
    }

    private static IHost Build(Dictionary<string, string?> settings, out ServiceDescriptor[] registrations)
    {
        // The same calls as Program.cs, on the Functions builder, with the app's settings in place of environment variables.
        var builder = FunctionsApplication.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.ConfigureFunctionsWebApplication();
        builder.Services.AddQwenFunctionsApp(builder.Configuration);
        registrations = [.. builder.Services];
        return builder.Build();
    }
}
