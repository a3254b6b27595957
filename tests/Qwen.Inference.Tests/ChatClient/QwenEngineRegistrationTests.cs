using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Inference.ChatClient;
using Qwen.Inference.Generation;
using Qwen.Inference.Hosting;
using Qwen.Inference.Runtime;
using Qwen.Inference.Scheduling;
using Qwen.Inference.Tests.Scheduling;

namespace Qwen.Inference.Tests.ChatClient;

/// <summary>AddQwenEngine on a real (tiny, full-vocabulary) package: the scheduler on every provider, and a working IChatClient over it.</summary>
public sealed class QwenEngineRegistrationTests
{
    private static async Task<ServiceProvider> Provider(ExecutionProvider provider = ExecutionProvider.Cpu)
    {
        var package = await TinyPackage.FullVocabularyAsync();
        var services = new ServiceCollection();
        services.AddQwenEngine(options =>
        {
            options.PackageDirectory = package;
            options.Runtime = new ModelRuntimeOptions { IntraOpThreads = 1, ExecutionProvider = provider };
            options.Scheduling = new SchedulerOptions { MaxBatchSize = 2 };
        });
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task AddQwenEngine_Cpu_RegistersSchedulerMetricsAndChatClient()
    {
        await using var provider = await Provider();

        var engine = provider.GetRequiredService<IGenerationEngine>();
        var scheduler = Assert.IsType<QwenScheduler>(engine);
        Assert.Same(provider.GetRequiredService<EngineMetrics>(), scheduler.Metrics);
        Assert.Equal(64, scheduler.ContextLength);
        var client = Assert.IsType<QwenChatClient>(provider.GetRequiredService<IChatClient>());
        Assert.Same(engine, client.GetService<IGenerationEngine>());
    }

    [Fact]
    public async Task AddQwenEngine_CudaWithoutTheCudaBuild_FailsAtLoadNamingWhatIsMissing()
    {
        // The same scheduler is built for CUDA; here the provider is not in this ONNX Runtime build, so loading fails clearly.
        await using var provider = await Provider(ExecutionProvider.Cuda);

        var ex = Assert.Throws<QwenEngineException>(() => provider.GetRequiredService<IGenerationEngine>());

        Assert.Contains("CUDA execution provider is not available in this build of ONNX Runtime", ex.Message, StringComparison.Ordinal);
        Assert.Contains("-p:QwenOrtBuild=cuda", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatClient_RealEngine_StreamingEqualsNonStreamingAndReportsUsage()
    {
        await using var provider = await Provider();
        var client = provider.GetRequiredService<IChatClient>();
        var engine = provider.GetRequiredService<IGenerationEngine>();
        ChatMessage[] messages = [new(ChatRole.User, "你好")];
        // Greedy with penalties off, and the stop ids biased away so the budget ends the reply.
        var options = new ChatOptions
        {
            Temperature = 0,
            MaxOutputTokens = 6,
            AdditionalProperties = new() { ["repetition_penalty"] = 1.0 },
        };

        var response = await client.GetResponseAsync(messages, options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(messages, options))
        {
            updates.Add(update);
        }

        // The spec's single-turn vector (§5.1): the prompt is 20 tokens.
        Assert.Equal(20, response.Usage!.InputTokenCount);
        var expectedPrompt = ChatMessagePrompt.Build(messages, engine.Tokenizer, "You are a helpful assistant.");
        Assert.Equal([151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 108386, 151645, 198, 151644, 77091, 198], expectedPrompt);
        var streamed = updates.ToChatResponse();
        Assert.Equal(response.Text, streamed.Text);
        Assert.Equal(response.FinishReason, streamed.FinishReason);
        Assert.Equal(response.Usage.OutputTokenCount, streamed.Usage!.OutputTokenCount);
        Assert.InRange(response.Usage.OutputTokenCount!.Value, 1, 6);
        // The second identical prompt reuses the first's cached prefix (all but the last prompt token).
        Assert.Equal(19, streamed.Usage.CachedInputTokenCount);
    }

    [Fact]
    public async Task ChatClient_CancelledMidStream_ThrowsAndEngineServesNextRequest()
    {
        await using var provider = await Provider();
        var client = provider.GetRequiredService<IChatClient>();
        using var cts = new CancellationTokenSource();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 40 };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hello")], options, cts.Token))
            {
                cts.Cancel();
            }
        });
        var next = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "again")], new ChatOptions { Temperature = 0, MaxOutputTokens = 3 }).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.InRange(next.Usage!.OutputTokenCount!.Value, 1, 3);
        Assert.Equal(1, provider.GetRequiredService<EngineMetrics>().Snapshot().CancelledRequests);
    }
}
