using System.Text.Json;
using Microsoft.Extensions.AI;
using Qwen.Inference.ChatClient;
using Qwen.Inference.Runtime;
using Qwen.Inference.Scheduling;
using Qwen.Testing;

namespace Qwen.Inference.Tests.ChatClient;

/// <summary>
/// QwenChatClient tool calling and JSON output on the real engine (tiny seeded package, random weights): only constrained
/// decoding makes the output a valid call or JSON value, so enum-only schemas keep random weights finishing.
/// </summary>
public sealed class QwenChatClientEngineTests : IAsyncLifetime
{
    private static readonly string[] Colors = ["red", "green", "blue"];

    private static readonly JsonElement ColorSchema = JsonDocument.Parse(
        """{"type":"object","properties":{"color":{"type":"string","enum":["red","green","blue"]}},"required":["color"],"additionalProperties":false}""").RootElement;

    private static readonly JsonElement SizeSchema = JsonDocument.Parse(
        """{"type":"object","properties":{"size":{"type":"integer","enum":[1,2,3]}},"required":["size"],"additionalProperties":false}""").RootElement;

    private QwenScheduler _engine = null!;

    public async Task InitializeAsync()
    {
        var package = await Generation.TestPackages.GetAsync(TestCheckpoint.TinyV11);
        _engine = QwenScheduler.Load(package, new QwenSchedulerOptions
        {
            // A ReAct prompt with its tool descriptions is a few hundred tokens.
            Runtime = new ModelRuntimeOptions { ContextLength = 1024, IntraOpThreads = 1 },
            Scheduling = new SchedulerOptions { MaxBatchSize = 2 },
        });
    }

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    private static ChatOptions Options(ChatToolMode mode, params AITool[] tools) => new()
    {
        Tools = tools,
        ToolMode = mode,
        Seed = 7,
        MaxOutputTokens = 400,
    };

    private static AIFunctionDeclaration Declaration(string name, JsonElement schema) => AIFunctionFactory.CreateDeclaration(name, $"Sets the {name}.", schema);

    private static void AssertColorCall(FunctionCallContent call)
    {
        Assert.Equal("set_color", call.Name);
        Assert.Null(call.Exception);
        var argument = Assert.Single(call.Arguments!);
        Assert.Equal("color", argument.Key);
        Assert.Contains(Assert.IsType<JsonElement>(argument.Value).GetString(), Colors);
    }

    [Fact]
    public async Task GetResponseAsync_RequireSpecific_CallValidatesAgainstTheFunctionsSchema()
    {
        var client = new QwenChatClient(_engine);

        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, "Paint it.")],
            Options(ChatToolMode.RequireSpecific("set_color"), Declaration("set_size", SizeSchema), Declaration("set_color", ColorSchema)));

        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        AssertColorCall(Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>()));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_RequireAny_CallOfAnOfferedFunctionAtTheEnd()
    {
        var client = new QwenChatClient(_engine);

        var response = await client.GetStreamingResponseAsync(
            [new ChatMessage(ChatRole.User, "Change something.")],
            Options(ChatToolMode.RequireAny, Declaration("set_size", SizeSchema), Declaration("set_color", ColorSchema))).ToChatResponseAsync();

        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        if (call.Name == "set_size")
        {
            var size = Assert.IsType<JsonElement>(Assert.Single(call.Arguments!, a => a.Key == "size").Value);
            Assert.Contains(size.GetInt32(), new[] { 1, 2, 3 });
        }
        else
        {
            AssertColorCall(call);
        }
    }

    [Fact]
    public async Task GetResponseAsync_ToolRoundTrip_CallInvokedAndResultAnswered()
    {
        // What FunctionInvokingChatClient does, step by step (its 10.0.0 build does not run against Abstractions 10.2.0:
        // MissingMethodException on ChatOptions.ContinuationToken): call → invoke the AIFunction → result → answer.
        var invoked = new List<string>();
        var setColor = new SchemaOverride(
            AIFunctionFactory.Create(
                (JsonElement color) =>
                {
                    invoked.Add(color.GetString()!);
                    return "done";
                },
                new AIFunctionFactoryOptions { Name = "set_color", Description = "Sets the color." }),
            ColorSchema);
        var client = new QwenChatClient(_engine);
        List<ChatMessage> messages = [new(ChatRole.User, "Paint it.")];
        var options = Options(ChatToolMode.RequireSpecific("set_color"), setColor);

        var first = await client.GetResponseAsync(messages, options);
        var call = Assert.Single(first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        var result = await setColor.InvokeAsync(new AIFunctionArguments(call.Arguments));
        messages.AddRange(first.Messages);
        messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, result)]));
        options.ToolMode = ChatToolMode.Auto;
        options.MaxOutputTokens = 16;
        var second = await client.GetResponseAsync(messages, options);

        Assert.Contains(Assert.Single(invoked), Colors);
        Assert.Equal("done", result?.ToString());
        Assert.Equal(ChatRole.Assistant, second.Messages.Single().Role);
        // The follow-up prompt holds the first one, the call and its Observation.
        Assert.True(second.Usage!.InputTokenCount > first.Usage!.InputTokenCount + first.Usage.OutputTokenCount,
            $"follow-up prompt {second.Usage.InputTokenCount} tokens, first {first.Usage.InputTokenCount} + {first.Usage.OutputTokenCount}");
    }

    [Fact]
    public async Task GetResponseAsync_FunctionInvokingChatClient_InvokesTheMethodAndSendsTheResultBack()
    {
        var (client, invoked) = WithFunctionInvocation();

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Paint it.")], InvocationOptions(invoked));

        AssertRoundTrip(response.Messages, invoked);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_FunctionInvokingChatClient_InvokesTheMethodAndSendsTheResultBack()
    {
        var (client, invoked) = WithFunctionInvocation();

        var response = await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Paint it.")], InvocationOptions(invoked)).ToChatResponseAsync();

        AssertRoundTrip(response.Messages, invoked);
    }

    /// <summary>What a user builds: the middleware of Microsoft.Extensions.AI over our client (its 10.0.0 build crashed on Abstractions 10.2.0).</summary>
    private (IChatClient Client, List<Paint> Invoked) WithFunctionInvocation() =>
        (new ChatClientBuilder(new QwenChatClient(_engine))
            // The first request is forced to call (RequireSpecific); the middleware then drops the requirement, so the second
            // request is in auto mode, where random weights may still write an Action: three requests at most keep it bounded.
            .UseFunctionInvocation(configure: f => f.MaximumIterationsPerRequest = 3)
            .Build(), []);

    private static ChatOptions InvocationOptions(List<Paint> invoked)
    {
        // A C# method bound by AIFunctionFactory: the middleware deserializes our FunctionCallContent's arguments into the enum.
        string SetColor(Paint color)
        {
            invoked.Add(color);
            return $"painted {color}";
        }
        var function = AIFunctionFactory.Create(SetColor, new AIFunctionFactoryOptions
        {
            Name = "set_color",
            Description = "Sets the color.",
            // Closed like OpenAI's strict schemas: random weights never close a free property name, so an open object could run to the budget.
            JsonSchemaCreateOptions = new AIJsonSchemaCreateOptions { TransformOptions = new AIJsonSchemaTransformOptions { DisallowAdditionalProperties = true } },
        });
        var options = Options(ChatToolMode.RequireSpecific("set_color"), function);
        // Room for the forced call (a Thought of at most 200 characters, then the Action lines), and it bounds the free-text follow-up.
        options.MaxOutputTokens = ChatOptionsMapper.ThoughtMaxChars + 40;
        return options;
    }

    private static void AssertRoundTrip(IList<ChatMessage> messages, List<Paint> invoked)
    {
        var roles = string.Join(",", messages.Select(m => m.Role.Value));
        Assert.True(messages.Count >= 3, roles);
        var call = Assert.Single(messages[0].Contents.OfType<FunctionCallContent>());
        Assert.Equal("set_color", call.Name);
        Assert.Null(call.Exception);
        var first = Assert.Single(invoked.Take(1));
        Assert.True(Enum.IsDefined(first), $"invoked with {first}");
        Assert.Equal(ChatRole.Tool, messages[1].Role);
        var result = Assert.Single(messages[1].Contents.OfType<FunctionResultContent>());
        Assert.Equal(call.CallId, result.CallId);
        Assert.Null(result.Exception);
        Assert.Equal($"painted {first}", result.Result?.ToString());
        // Every call the model made was invoked, each answered by a tool message, and the last reply came after a result.
        Assert.Equal(messages.Count(m => m.Contents.OfType<FunctionCallContent>().Any()), invoked.Count);
        Assert.Equal(invoked.Count, messages.Count(m => m.Role == ChatRole.Tool));
        Assert.All(invoked, color => Assert.True(Enum.IsDefined(color)));
        Assert.Equal(ChatRole.Assistant, messages[^1].Role);
    }

    [Fact]
    public async Task GetResponseAsync_JsonSchemaResponseFormat_OutputParsesAndValidates()
    {
        var client = new QwenChatClient(_engine);

        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, "Pick a color.")],
            new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(ColorSchema, "choice"), Seed = 3, MaxOutputTokens = 64 });

        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        using var document = JsonDocument.Parse(response.Text);
        var property = Assert.Single(document.RootElement.EnumerateObject());
        Assert.Equal("color", property.Name);
        Assert.Contains(property.Value.GetString(), Colors);
    }

    [Fact]
    public async Task GetResponseAsync_JsonObjectResponseFormat_ObjectOrItsPrefix()
    {
        var client = new QwenChatClient(_engine);

        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, "Answer in JSON.")],
            new ChatOptions { ResponseFormat = ChatResponseFormat.Json, Seed = 5, MaxOutputTokens = 48 });

        // Random weights may open a string and never close it: then the output is a JSON prefix cut by the budget.
        Assert.StartsWith("{", response.Text.TrimStart(), StringComparison.Ordinal);
        if (response.FinishReason == ChatFinishReason.Stop)
        {
            using var document = JsonDocument.Parse(response.Text);
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        }
        else
        {
            Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        }
    }

    /// <summary>The parameter type of the invoked method.</summary>
    public enum Paint
    {
        /// <summary>Red.</summary>
        Red,

        /// <summary>Green.</summary>
        Green,

        /// <summary>Blue.</summary>
        Blue,
    }

    /// <summary>An invocable function advertised with another parameter schema.</summary>
    private sealed class SchemaOverride(AIFunction inner, JsonElement schema) : DelegatingAIFunction(inner)
    {
        public override JsonElement JsonSchema => schema;
    }
}
