#pragma warning disable OPENAI001 // Seed is marked experimental in the client; the server supports it.
using System.ClientModel;
using System.Text;
using Azure.AI.OpenAI;
using OpenAI.Chat;

namespace Qwen.Server.Tests.Http;

/// <summary>The official Azure.AI.OpenAI 2.1.0 client against the standalone server over real HTTP on 127.0.0.1.</summary>
public sealed class AzureOpenAiClientTests : IAsyncLifetime
{
    private const string Key = "azure-test-key-0123456789abcdef0123";
    private TestServer _server = null!;
    private ChatClient _chat = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(["--api-key", Key]);
        var client = new AzureOpenAIClient(_server.BaseUri, new ApiKeyCredential(Key));
        _chat = client.GetChatClient(TestServer.ModelName);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task CompleteChat_SimpleQuestion_ReturnsEngineTextAndUsage()
    {
        _server.Fake.Respond = _ => "Hello, world! How are you today?";
        ChatCompletion completion = await _chat.CompleteChatAsync(
            [new SystemChatMessage("You are a helpful assistant."), new UserChatMessage("Hi")],
            new ChatCompletionOptions { Temperature = 0.5f, TopP = 0.9f, MaxOutputTokenCount = 50, Seed = 7 });
        Assert.Equal("Hello, world! How are you today?", completion.Content.Single().Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(20, completion.Usage.InputTokenCount);
        Assert.Equal(9, completion.Usage.OutputTokenCount);
        var sent = _server.Fake.Requests.Last();
        Assert.Equal(0.5, sent.Sampling.Temperature, 6);
        Assert.Equal(0.9, sent.Sampling.TopP, 6);
        Assert.Equal(7, sent.Sampling.Seed);
        Assert.Equal(50, sent.MaxNewTokens);
        // Qwen-7B-Chat's generation config fills what the client did not send (spec §5.4).
        Assert.Equal(1.1, sent.Sampling.RepetitionPenalty, 6);
        Assert.Equal(0, sent.Sampling.TopK);
    }

    [Fact]
    public async Task CompleteChatStreaming_Question_StreamsDeltasInOrder()
    {
        _server.Fake.Respond = _ => "你好，世界！我是通义千问。";
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        var contentUpdates = 0;
        await foreach (var update in _chat.CompleteChatStreamingAsync([new UserChatMessage("你好")]))
        {
            contentUpdates += update.ContentUpdate.Count(p => p.Text.Length > 0);
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal("你好，世界！我是通义千问。", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(10, contentUpdates); // one delta per token: the text is 10 tokens (spec §4.7 vector)
    }

    [Fact]
    public async Task CompleteChat_WithTools_ReturnsToolCallThenFinalAnswer()
    {
        var tool = ChatTool.CreateFunctionTool("get_weather", "Get the current weather",
            BinaryData.FromString("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}"));
        var options = new ChatCompletionOptions { Tools = { tool } };
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Paris?")];

        ChatCompletion first = await _chat.CompleteChatAsync(messages, options);
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = first.ToolCalls.Single();
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("{\"city\":\"Paris\"}", call.FunctionArguments.ToString());
        Assert.StartsWith("call_", call.Id, StringComparison.Ordinal);

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, "22 degrees, sunny"));
        ChatCompletion second = await _chat.CompleteChatAsync(messages, options);
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.Equal("It is 22 degrees and sunny in Paris.", second.Content.Single().Text);
        Assert.Empty(second.ToolCalls);
    }

    [Fact]
    public async Task CompleteChatStreaming_WithTools_StreamsOneToolCall()
    {
        var tool = ChatTool.CreateFunctionTool("get_weather", "Get the current weather",
            BinaryData.FromString("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}"));
        var name = new StringBuilder();
        var args = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in _chat.CompleteChatStreamingAsync([new UserChatMessage("Weather in Paris?")], new ChatCompletionOptions { Tools = { tool } }))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                name.Append(call.FunctionName);
                args.Append(call.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal("get_weather", name.ToString());
        Assert.Equal("{\"city\":\"Paris\"}", args.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    [Fact]
    public async Task CompleteChat_WrongKey_ThrowsClientResultException401()
    {
        var wrong = new AzureOpenAIClient(_server.BaseUri, new ApiKeyCredential("nope")).GetChatClient(TestServer.ModelName);
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => wrong.CompleteChatAsync([new UserChatMessage("Hi")]));
        Assert.Equal(401, ex.Status);
    }
}
