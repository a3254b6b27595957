using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Serving.Orchestrations;
using Qwen.Serving.Tools;

namespace Qwen.Serving.Tests.Orchestrations;

/// <summary>Starts an in-process Durable Task host with the Qwen orchestrations, a scripted model and optional extra tools.</summary>
public static class OrchestrationHost
{
    public static Task<DurableTaskTestHost> StartAsync(IChatTurnModel model, IReadOnlyCollection<string>? allowedTools = null, params ITool[] extraTools)
        => DurableTaskTestHost.StartAsync(
            registry => registry.AddQwenOrchestrations(),
            new DurableTaskTestHostOptions
            {
                ConfigureServices = services =>
                {
                    services.AddSingleton(model);
                    foreach (var tool in extraTools)
                    {
                        services.AddSingleton(tool);
                    }
                    services.AddQwenOrchestrations(new OrchestrationOptions { AllowedTools = allowedTools });
                },
            });

    /// <summary>Polls until <paramref name="condition"/> holds for the instance, failing with its last state after <paramref name="timeout"/>.</summary>
    public static async Task<OrchestrationMetadata> WaitUntilAsync(DurableTaskClient client, string id, Func<OrchestrationMetadata, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var metadata = await client.GetInstanceAsync(id, getInputsAndOutputs: true);
            if (metadata is not null && condition(metadata))
            {
                return metadata;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Instance {id} did not reach the expected state; last: {metadata?.RuntimeStatus} {metadata?.SerializedCustomStatus} {metadata?.SerializedOutput}");
            }
            await Task.Delay(50);
        }
    }
}
