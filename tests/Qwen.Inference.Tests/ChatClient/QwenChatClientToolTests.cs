using System.Text.Json;
using Microsoft.Extensions.AI;
using Qwen.Inference.ChatClient;
using Qwen.Inference.Constraints;
using Qwen.Inference.Generation;
using Qwen.Inference.Tokenization;
using Qwen.Testing;

namespace Qwen.Inference.Tests.ChatClient;

/// <summary>QwenChatClient with tools over a scripted engine: the ReAct prompt it sends, the replies it parses and the constraints it asks for.</summary>
public sealed class QwenChatClientToolTests
{
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));
    private static readonly GenerationUsage Usage = new(40, 12, 0, TimeSpan.FromMilliseconds(5));

    private static readonly AIFunctionDeclaration Weather = AIFunctionFactory.CreateDeclaration(
        "get_weather", "Current weather of a city.",
        JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""").RootElement);

    private static (QwenChatClient Client, FakeGenerationEngine Engine) Create(string reply)
    {
        var engine = new FakeGenerationEngine
        {
            WithTokenizer = Tokenizer.Value,
            Callback = (_, ct) => FakeGenerationEngine.Stream([reply[..(reply.Length / 2)], reply[(reply.Length / 2)..]], FinishReason.Stop, Usage, ct),
        };
        return (new QwenChatClient(engine), engine);
    }

    private static ChatOptions Tools(ChatToolMode? mode = null) => new() { Tools = [Weather], ToolMode = mode };

    [Fact]
    public async Task GetResponseAsync_ReActCall_BecomesFunctionCallWithArguments()
    {
        var (client, engine) = Create("Thought: I should look it up.\nAction: get_weather\nAction Input: {\"city\": \"Paris\"}\nObservation:");

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Weather in Paris?")], Tools());

        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var message = Assert.Single(response.Messages);
        Assert.Equal("I should look it up.", message.Text);
        var call = Assert.Single(message.Contents.OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.StartsWith("call_", call.CallId, StringComparison.Ordinal);
        Assert.Null(call.Exception);
        Assert.Equal("Paris", Assert.IsType<JsonElement>(call.Arguments!["city"]).GetString());
        // The prompt is the HTTP API's ReAct prompt: tool description and instruction, and Observation: as a stop.
        var request = engine.Requests.Single();
        var prompt = Tokenizer.Value.Decode(request.PromptTokens);
        Assert.Contains("get_weather: Call this tool to interact with the get_weather API.", prompt, StringComparison.Ordinal);
        Assert.Contains("Question: Weather in Paris?", prompt, StringComparison.Ordinal);
        Assert.Contains("Observation:", request.StopStrings);
        Assert.Null(request.Constraint);
    }

    [Fact]
    public async Task GetResponseAsync_ActionNotOffered_StaysText()
    {
        var reply = "Thought: The document says so.\nAction: delete_account\nAction Input: {}";
        var (client, _) = Create(reply);

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Summarize the document.")], Tools());

        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Empty(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(reply, response.Text);
    }

    [Fact]
    public async Task GetResponseAsync_FinalAnswer_ReturnsTheAnswerText()
    {
        var (client, _) = Create("Thought: I now know the final answer\nFinal Answer: It is sunny.");

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Weather?")], Tools());

        Assert.Equal("It is sunny.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_FunctionResultInHistory_RendersActionAndObservation()
    {
        var (client, engine) = Create("Thought: I now know the final answer\nFinal Answer: 22 degrees.");
        ChatMessage[] history =
        [
            new(ChatRole.User, "Weather in Paris?"),
            new(ChatRole.Assistant, [new TextContent("I should look it up."), new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", "22 degrees, sunny")]),
        ];

        await client.GetResponseAsync(history, Tools());

        var prompt = Tokenizer.Value.Decode(engine.Requests.Single().PromptTokens);
        Assert.EndsWith("Thought: I should look it up.\nAction: get_weather\nAction Input: {\"city\":\"Paris\"}\nObservation: 22 degrees, sunny\nThought:", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ReActCall_FunctionCallArrivesAtTheEnd()
    {
        var (client, _) = Create("Thought: Look it up.\nAction: get_weather\nAction Input: {\"city\": \"Oslo\"}");

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Weather in Oslo?")], Tools()))
        {
            updates.Add(update);
        }

        var last = Assert.Single(updates);
        Assert.Equal(ChatFinishReason.ToolCalls, last.FinishReason);
        var response = updates.ToChatResponse();
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("Oslo", Assert.IsType<JsonElement>(call.Arguments!["city"]).GetString());
        Assert.NotNull(response.Usage);
    }

    [Fact]
    public async Task GetResponseAsync_RequireSpecific_ConstrainsToThatFunctionsCall()
    {
        var (client, engine) = Create("Thought: x\nAction: get_weather\nAction Input: {\"city\": \"Rome\"}");

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Weather in Rome?")], Tools(ChatToolMode.RequireSpecific("get_weather")));

        // ReActGrammar's shape: "Thought: " line "\nAction: " name "\nAction Input: " arguments.
        var grammar = Assert.IsType<SequenceGrammar>(engine.Requests.Single().Constraint!.Grammar);
        Assert.Equal(Grammar.Literal("Thought: "), grammar.Parts[0]);
        Assert.Equal(Grammar.Literal("\nAction: "), grammar.Parts[2]);
        var call = Assert.IsType<SequenceGrammar>(grammar.Parts[3]);
        Assert.Equal(Grammar.Literal("get_weather\nAction Input: "), call.Parts[0]);
        Assert.IsType<JsonSchemaGrammar>(call.Parts[1]);
    }

    [Fact]
    public async Task GetResponseAsync_RequireSpecificUnknownFunction_Throws()
    {
        var (client, _) = Create("x");

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], Tools(ChatToolMode.RequireSpecific("send_mail"))));

        Assert.Contains("send_mail", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponseAsync_ToolModeNone_PlainChatPromptWithoutTools()
    {
        var (client, engine) = Create("Hello.");

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], Tools(ChatToolMode.None));

        Assert.Equal("Hello.", response.Text);
        Assert.DoesNotContain("get_weather", Tokenizer.Value.Decode(engine.Requests.Single().PromptTokens), StringComparison.Ordinal);
        Assert.Null(engine.Requests.Single().Constraint);
    }

    [Fact]
    public async Task GetResponseAsync_NoToolsButCallsInHistory_CallsAndResultsReachThePromptAndTheAnswerIsParsed()
    {
        // FunctionInvokingChatClient's last round (and ToolMode.None) sends the history with its calls but no tools.
        var (client, engine) = Create(" I now know the final answer.\nFinal Answer: It is sunny in Paris.");
        ChatMessage[] history =
        [
            new(ChatRole.User, "Weather in Paris?"),
            new(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", "sunny, 21 C")]),
        ];

        var response = await client.GetResponseAsync(history, new ChatOptions { ToolMode = ChatToolMode.None });

        var prompt = Tokenizer.Value.Decode(engine.Requests.Single().PromptTokens);
        Assert.Contains("Action: get_weather\nAction Input: {\"city\":\"Paris\"}\nObservation: sunny, 21 C\nThought:", prompt, StringComparison.Ordinal);
        Assert.Equal("It is sunny in Paris.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Empty(response.Messages.Single().Contents.OfType<FunctionCallContent>());
    }

    [Fact]
    public async Task GetResponseAsync_JsonResponseFormat_ConstrainsToJson()
    {
        var (client, engine) = Create("{}");

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { ResponseFormat = ChatResponseFormat.Json });
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions
        {
            ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse("""{"type":"object","properties":{"a":{"const":1}},"required":["a"],"additionalProperties":false}""").RootElement, "thing"),
        });

        Assert.Equal(Grammar.JsonObject(), engine.Requests[0].Constraint!.Grammar);
        Assert.IsType<JsonSchemaGrammar>(engine.Requests[1].Constraint!.Grammar);
    }
}
