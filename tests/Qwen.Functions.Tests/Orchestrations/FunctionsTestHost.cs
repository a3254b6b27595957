using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Qwen.Functions.Orchestrations;
using Qwen.Serving.Http;
using Qwen.Serving.Orchestrations;
using Qwen.Serving.Tools;

namespace Qwen.Functions.Tests.Orchestrations;

/// <summary>An in-process Durable Task host whose orchestrators and activities are the Functions adapters themselves.</summary>
public sealed class FunctionsTestHost : IAsyncDisposable
{
    public const string ApiKey = "test-key";

    /// <summary>A second valid key: another tenant.</summary>
    public const string OtherKey = "other-tenant-key";

    private FunctionsTestHost(DurableTaskTestHost host, DurableHttpFunctions http)
    {
        Host = host;
        Http = http;
    }

    public DurableTaskTestHost Host { get; }

    /// <summary>The clock this host's services read (DurableHttpApi's retention purge); tests move it forward.</summary>
    public ManualClock Clock { get; private init; } = null!;
    public DurableHttpFunctions Http { get; }

    public static async Task<FunctionsTestHost> StartAsync(IChatTurnModel model)
    {
        ActivityFunctions? activities = null; // created from the worker's DI once the host runs
        var clock = new ManualClock();
        var host = await StartOnFreePortAsync(registry =>
        {
            // Typed input, as the Functions middleware deserializes it, so the adapters' GetInput<T>() sees the record.
            registry.AddOrchestratorFunc<ChatSessionInput, ChatSessionResult?>(nameof(ChatSessionOrchestration), (context, _) => OrchestratorFunctions.ChatSession(context));
            registry.AddOrchestratorFunc<AgentRunInput, AgentRunResult>(nameof(ReActAgentOrchestration), (context, _) => OrchestratorFunctions.ReActAgent(context));
            registry.AddActivityFunc<ChatTurnRequest, ChatTurnResult>(nameof(GenerateTurnActivity), (_, input) => activities!.GenerateTurn(input, CancellationToken.None));
            registry.AddActivityFunc<ToolCall, string>(nameof(CallToolActivity), (_, input) => activities!.CallTool(input, CancellationToken.None));
            registry.AddActivityFunc<string[], ToolDescriptor[]>(nameof(ListToolsActivity), (_, input) => activities!.ListTools(input));
        }, port => new DurableTaskTestHostOptions
        {
            Port = port,
            ConfigureServices = services =>
            {
                services.AddSingleton(model);
                services.AddSingleton(Options.Create(new HttpApiOptions { ApiKey = ApiKey, ApiKeys = [OtherKey] }));
                services.AddSingleton<TimeProvider>(clock);
                services.AddQwenOrchestrations(new OrchestrationOptions());
            },
        });
        var sp = host.Services;
        activities = new ActivityFunctions(sp.GetRequiredService<GenerateTurnActivity>(), sp.GetRequiredService<CallToolActivity>(), sp.GetRequiredService<ListToolsActivity>());
        return new FunctionsTestHost(host, new DurableHttpFunctions(sp.GetRequiredService<DurableHttpApi>(), sp.GetRequiredService<ChatTurnEndpoint>())) { Clock = clock };
    }

    /// <summary>Starts the Durable test host on a port the OS just handed out, retrying on a bind collision.</summary>
    /// <remarks>
    /// The host's sidecar binds a TCP port of its own (random in 30000–40000 by default, inside Linux's ephemeral range).
    /// CI runs the test projects side by side and their servers bind ephemeral ports, so a chosen port can be taken
    /// between choosing and binding: a fresh OS-assigned port, and a few attempts, make that a non-event.
    /// </remarks>
    private static async Task<DurableTaskTestHost> StartOnFreePortAsync(Action<DurableTaskRegistry> register, Func<int, DurableTaskTestHostOptions> options)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await DurableTaskTestHost.StartAsync(register, options(FreePort()));
            }
            catch (IOException ex) when (attempt < 5 && ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // Taken between FreePort() and the bind: try another.
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A request as the Functions ASP.NET Core integration hands it over.</summary>
    public static HttpRequest Request(string method, string? json = null, string? key = ApiKey)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse("10.0.0.7");
        context.Request.Method = method;
        if (key is not null)
        {
            context.Request.Headers["api-key"] = key;
        }
        var bytes = Encoding.UTF8.GetBytes(json ?? "");
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        context.Request.ContentType = "application/json";
        return context.Request;
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
