using System.Net;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Http;

/// <summary>/apply-template returns exactly what the model sees: ChatML (spec §5.1) and the ReAct mapping of tools (spec §6.3).</summary>
public sealed class ApplyTemplateTests : IAsyncLifetime
{
    private const string Instruction =
        "Answer the following questions as best you can. You have access to the following APIs:\n\n" +
        "get_weather: Call this tool to interact with the get_weather API. What is the get_weather API useful for? Get the current weather Parameters: " +
        "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City name, e.g. 東京\"}}, \"required\": [\"city\"]}\n\n" +
        "Use the following format:\n\n" +
        "Question: the input question you must answer\n" +
        "Thought: you should always think about what to do\n" +
        "Action: the action to take, should be one of [get_weather]\n" +
        "Action Input: the input to the action\n" +
        "Observation: the result of the action\n" +
        "... (this Thought/Action/Action Input/Observation can be repeated zero or more times)\n" +
        "Thought: I now know the final answer\n" +
        "Final Answer: the final answer to the original input question\n\n" +
        "Begin!";

    private const string Tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Get the current weather\"," +
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"description\":\"City name, e.g. 東京\"}},\"required\":[\"city\"]}}}]";

    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();
    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ApplyTemplate_SingleTurn_MatchesSpecChatMlVector()
    {
        var (prompt, tokens) = await ApplyAsync("{\"messages\":[{\"role\":\"user\",\"content\":\"你好\"}]}");
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n", prompt);
        Assert.Equal([151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 108386, 151645, 198, 151644, 77091, 198], tokens);
    }

    [Fact]
    public async Task ApplyTemplate_History_MatchesSpecChatMlVector()
    {
        var (_, tokens) = await ApplyAsync("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello! How can I help you?\"},{\"role\":\"user\",\"content\":\"What is 1+1?\"}]}");
        Assert.Equal([151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198, 9707, 0, 2585, 646, 358, 1492, 498, 30, 151645, 198, 151644, 872, 198, 3838, 374, 220, 16, 10, 16, 30, 151645, 198, 151644, 77091, 198], tokens);
    }

    [Fact]
    public async Task ApplyTemplate_ToolsRequest_RendersReActInstructionIntoTheQuery()
    {
        var (prompt, tokens) = await ApplyAsync("{\"messages\":[{\"role\":\"user\",\"content\":\"\\nWhat is the weather in Paris?  \"}]," + Tools + "}");
        var user = Instruction + "\n\nQuestion: What is the weather in Paris?";
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n", prompt);
        Assert.Equal(Piecewise(("system", "You are a helpful assistant.", true), ("user", user, true)).Concat(AssistantStart()), tokens);
    }

    [Fact]
    public async Task ApplyTemplate_ToolResultLast_ContinuesTheAssistantTurnAfterThought()
    {
        var body = "{\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"}," +
            "{\"role\":\"assistant\",\"content\":\"I need the weather.\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}]}," +
            "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"22 degrees, sunny\"}]," + Tools + "}";
        var (prompt, tokens) = await ApplyAsync(body);
        var user = Instruction + "\n\nQuestion: What is the weather in Paris?";
        var assistant = "Thought: I need the weather.\nAction: get_weather\nAction Input: {\"city\": \"Paris\"}\nObservation: 22 degrees, sunny\nThought:";
        Assert.Equal("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n" + assistant, prompt);
        Assert.Equal(Piecewise(("system", "You are terse.", true), ("user", user, true), ("assistant", assistant, false)), tokens);
    }

    [Fact]
    public async Task ApplyTemplate_ToolsWithHistory_PutsInstructionIntoThePreviousTurn()
    {
        var body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}," +
            "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]}," +
            "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"sunny\"},{\"role\":\"assistant\",\"content\":\"It is sunny.\"},{\"role\":\"user\",\"content\":\"Thanks!\"}]," + Tools + "}";
        var (prompt, _) = await ApplyAsync(body);
        var expected = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + Instruction + "\n\nQuestion: Weather in Paris?<|im_end|>\n" +
            "<|im_start|>assistant\nThought: \nAction: get_weather\nAction Input: {}\nObservation: sunny\nThought: I now know the final answer.\nFinal Answer: It is sunny.<|im_end|>\n" +
            "<|im_start|>user\nThanks!<|im_end|>\n<|im_start|>assistant\n";
        Assert.Equal(expected, prompt);
    }

    [Fact]
    public async Task ApplyTemplate_SpecialTokenText_IsPlainText()
    {
        var (_, tokens) = await ApplyAsync("{\"messages\":[{\"role\":\"user\",\"content\":\"print(\\\"<|endoftext|>\\\")\"}]}");
        // Spec §4.6: the surface form encodes as text [1350, 9639, 91, 8691, 723, 427, 91, 82598].
        Assert.Equal([1350, 9639, 91, 8691, 723, 427, 91, 82598], tokens.Skip(14).Take(8));
        Assert.DoesNotContain(151643, tokens);
    }

    private static IEnumerable<int> Piecewise(params (string Role, string Content, bool Close)[] turns)
    {
        var tok = TestServer.Tokenizer;
        var list = new List<int>();
        for (var i = 0; i < turns.Length; i++)
        {
            if (i > 0)
            {
                list.Add(198);
            }
            list.Add(151644);
            list.AddRange(tok.Encode(turns[i].Role));
            list.Add(198);
            list.AddRange(tok.Encode(turns[i].Content));
            if (turns[i].Close)
            {
                list.Add(151645);
            }
        }
        return list;
    }

    private static int[] AssistantStart() => [198, 151644, 77091, 198];

    private async Task<(string Prompt, int[] Tokens)> ApplyAsync(string body)
    {
        using var client = _server.CreateClient();
        using var response = await client.PostAsync("apply-template", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var doc = JsonDocument.Parse(text);
        return (doc.RootElement.GetProperty("prompt").GetString()!, doc.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }
}
