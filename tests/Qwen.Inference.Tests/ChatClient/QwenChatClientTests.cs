using System.Text.Json;
using Microsoft.Extensions.AI;
using Qwen.Inference.ChatClient;
using Qwen.Inference.Generation;

namespace Qwen.Inference.Tests.ChatClient;

public sealed class QwenChatClientTests
{
    private static readonly GenerationUsage Usage = new(12, 3, 5, TimeSpan.FromMilliseconds(40));

    private static (QwenChatClient Client, FakeGenerationEngine Engine) Create()
    {
        var engine = new FakeGenerationEngine
        {
            Callback = (_, ct) => FakeGenerationEngine.Stream(["Hel", "lo", "!"], FinishReason.Stop, Usage, ct),
        };
        // The formatter stands in for ChatML: one id per message, so the test sees which messages reached the prompt.
        var client = new QwenChatClient(engine, new QwenChatClientOptions { PromptFormatter = messages => messages.Select(m => m.Text.Length).ToArray() });
        return (client, engine);
    }

    [Fact]
    public async Task GetResponseAsync_Text_ReturnsWholeTextUsageAndFinishReason()
    {
        var (client, engine) = Create();

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.System, "sys"), new ChatMessage(ChatRole.User, "hi")]);

        Assert.Equal("Hello!", response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("qwen-test", response.ModelId);
        Assert.Equal(12, response.Usage!.InputTokenCount);
        Assert.Equal(3, response.Usage.OutputTokenCount);
        Assert.Equal(15, response.Usage.TotalTokenCount);
        Assert.Equal(5, response.Usage.CachedInputTokenCount);
        Assert.Equal([3, 2], engine.Requests.Single().PromptTokens);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Text_StreamsDeltasThenFinalUsage()
    {
        var (client, _) = Create();

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")]))
        {
            updates.Add(update);
        }

        Assert.Equal(["Hel", "lo", "!", ""], updates.Select(u => u.Text));
        Assert.All(updates, u => Assert.Equal(updates[0].ResponseId, u.ResponseId));
        Assert.Equal([null, null, null, ChatFinishReason.Stop], updates.Select(u => u.FinishReason));
        var usage = Assert.IsType<UsageContent>(Assert.Single(updates[^1].Contents));
        Assert.Equal(15, usage.Details.TotalTokenCount);
        var combined = updates.ToChatResponse();
        Assert.Equal("Hello!", combined.Text);
        Assert.Equal(ChatFinishReason.Stop, combined.FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_Options_MapsEverySetting()
    {
        var (client, engine) = Create();
        var options = new ChatOptions
        {
            Temperature = 0.3f,
            TopP = 0.5f,
            TopK = 7,
            MaxOutputTokens = 33,
            StopSequences = ["Observation:", "\n\n"],
            Seed = 42,
            PresencePenalty = 0.25f,
            FrequencyPenalty = -0.5f,
            AdditionalProperties = new AdditionalPropertiesDictionary { ["repetition_penalty"] = JsonSerializer.Deserialize<JsonElement>("1.3") },
        };

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], options);

        var request = engine.Requests.Single();
        Assert.Equal(33, request.MaxNewTokens);
        Assert.Equal(["Observation:", "\n\n"], request.StopStrings);
        var s = request.Sampling;
        Assert.Equal(0.3f, s.Temperature, 6);
        Assert.Equal(0.5f, s.TopP, 6);
        Assert.Equal(7, s.TopK);
        Assert.Equal(42L, s.Seed);
        Assert.Equal(0.25f, s.PresencePenalty, 6);
        Assert.Equal(-0.5f, s.FrequencyPenalty, 6);
        Assert.Equal(1.3, s.RepetitionPenalty, 12);
        Assert.True(s.DoSample);
    }

    [Fact]
    public async Task GetResponseAsync_NoOptions_UsesPackageDefaults()
    {
        var (client, engine) = Create();

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);

        var request = engine.Requests.Single();
        Assert.Null(request.MaxNewTokens);
        Assert.Empty(request.StopStrings);
        Assert.Equal(0.7, request.Sampling.Temperature);
        Assert.Equal(1.1, request.Sampling.RepetitionPenalty);
        Assert.Null(request.Sampling.Seed);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData("false", true)]
    [InlineData(true, false)]
    public async Task GetResponseAsync_DoSampleProperty_TogglesGreedy(object value, bool greedy)
    {
        var (client, engine) = Create();

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { AdditionalProperties = new() { ["do_sample"] = value } });

        Assert.Equal(greedy, engine.Requests.Single().Sampling.IsGreedy);
    }

    [Fact]
    public async Task GetResponseAsync_BadRepetitionPenalty_ThrowsNamingTheKey()
    {
        var (client, _) = Create();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, "hi")], new ChatOptions { AdditionalProperties = new() { ["repetition_penalty"] = "lots" } }));

        Assert.Contains("repetition_penalty", error.Message);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Cancelled_StopsWithOperationCanceled()
    {
        var (client, engine) = Create();
        using var cts = new CancellationTokenSource();
        var seen = new List<string>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")], cancellationToken: cts.Token))
            {
                seen.Add(update.Text);
                cts.Cancel();
            }
        });

        Assert.Equal(["Hel"], seen);
        Assert.Single(engine.Requests);
    }

    [Fact]
    public void GetService_Metadata_NamesModelAndEngine()
    {
        var (client, engine) = Create();

        var metadata = client.GetService<ChatClientMetadata>();

        Assert.Equal("qwen", metadata!.ProviderName);
        Assert.Equal("qwen-test", metadata.DefaultModelId);
        Assert.Same(engine, client.GetService<IGenerationEngine>());
        Assert.Same(client, client.GetService<QwenChatClient>());
        Assert.Null(client.GetService<ChatClientMetadata>("key"));
    }

    [Fact]
    public void Abstractions_LoadedWithTheMiddlewarePackage_SameMajorMinor()
    {
        // Microsoft.Extensions.AI calls Abstractions members that change between minor versions (its 10.0.0 build threw
        // MissingMethodException on ChatOptions.ContinuationToken against Abstractions 10.2.0): keep the two pins together.
        var middleware = typeof(ChatClientBuilder).Assembly.GetName();
        var abstractions = typeof(ChatOptions).Assembly.GetName();

        Assert.Equal("Microsoft.Extensions.AI", middleware.Name);
        Assert.Equal("Microsoft.Extensions.AI.Abstractions", abstractions.Name);
        Assert.Equal((middleware.Version!.Major, middleware.Version.Minor), (abstractions.Version!.Major, abstractions.Version.Minor));
    }
}
