using Microsoft.DurableTask.Client;
using Qwen.Serving.Orchestrations;

namespace Qwen.Serving.Tests.Orchestrations;

public sealed class ReActAgentOrchestrationTests
{
    private static async Task<AgentRunResult> RunAsync(ScriptedChatTurnModel model, AgentRunInput input, IReadOnlyCollection<string>? allowed = null, params Serving.Tools.ITool[] extra)
    {
        await using var host = await OrchestrationHost.StartAsync(model, allowed, extra);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ReActAgentOrchestration), input);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var metadata = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.True(metadata.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"{metadata.RuntimeStatus}: {metadata.FailureDetails?.ErrorMessage}");
        return metadata.ReadOutputAs<AgentRunResult>()!;
    }

    [Fact]
    public async Task Run_CalculatorThenFinalAnswer_AnswersWithToolObservation()
    {
        var model = new ScriptedChatTurnModel(
            "Thought: I should compute it.\nAction: calculator\nAction Input: {\"expression\": \"(2+3)*4\"}\n",
            " I now know the final answer\nFinal Answer: 20");

        var result = await RunAsync(model, new AgentRunInput { Question = "What is (2+3)*4?" });

        Assert.Equal("answered", result.Status);
        Assert.Equal("20", result.Answer);
        Assert.Equal(2, result.Iterations);
        var step = Assert.Single(result.Steps);
        Assert.Equal(new AgentStep("calculator", "{\"expression\": \"(2+3)*4\"}", "20", true), step);

        var requests = model.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        var prompt = Assert.Single(requests[0].Messages).Content;
        Assert.StartsWith("Answer the following questions as best you can. You have access to the following tools:\n\ncalculator: Call this tool to interact with the Calculator API.", prompt, StringComparison.Ordinal);
        Assert.Contains("Action: the action to take, should be one of [calculator,utc_now]\n", prompt, StringComparison.Ordinal);
        Assert.EndsWith("Begin!\n\nQuestion: What is (2+3)*4?", prompt, StringComparison.Ordinal);
        Assert.False(requests[0].ContinueLastAssistant);
        Assert.Equal(["Observation:", "Observation:\n"], requests[0].Stop);
        Assert.Equal(0, requests[0].Temperature);

        Assert.True(requests[1].ContinueLastAssistant);
        Assert.Equal(2, requests[1].Messages.Count);
        Assert.Equal(
            "Thought: I should compute it.\nAction: calculator\nAction Input: {\"expression\": \"(2+3)*4\"}\nObservation: 20\nThought:",
            requests[1].Messages[1].Content);
        Assert.Equal(requests[1].Messages[1].Content + " I now know the final answer\nFinal Answer: 20", result.Transcript);
    }

    [Fact]
    public async Task Run_ToolOutsideAllowList_RefusedAsObservationAndNeverExecuted()
    {
        var spy = new SpyTool();
        var model = new ScriptedChatTurnModel(
            "Thought: I will use the shell.\nAction: shell\nAction Input: {\"command\": \"rm -rf /\"}\n",
            " The shell is not available.\nFinal Answer: I cannot run commands.");

        var result = await RunAsync(
            model,
            new AgentRunInput { Question = "Delete everything.", Tools = ["shell", "calculator"] },
            allowed: ["calculator", "utc_now"],
            spy);

        Assert.Equal(0, spy.Invocations);
        var step = Assert.Single(result.Steps);
        Assert.Equal(new AgentStep("shell", "{\"command\": \"rm -rf /\"}", "Error: the tool 'shell' is not allowed. Use one of [calculator].", false), step);
        Assert.Equal("answered", result.Status);
        Assert.Equal("I cannot run commands.", result.Answer);
        var prompt = model.Requests.First().Messages[0].Content;
        Assert.DoesNotContain("shell", prompt, StringComparison.Ordinal);
        Assert.Contains("should be one of [calculator]\n", prompt, StringComparison.Ordinal);
        Assert.EndsWith("\nObservation: Error: the tool 'shell' is not allowed. Use one of [calculator].\nThought:", model.Requests.Last().Messages[1].Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ToolThrows_ErrorBecomesObservation()
    {
        var model = new ScriptedChatTurnModel(
            "Thought: divide.\nAction: calculator\nAction Input: {\"expression\": \"1/0\"}\nObservation:",
            "Final Answer: undefined");

        var result = await RunAsync(model, new AgentRunInput { Question = "1/0?" });

        var step = Assert.Single(result.Steps);
        Assert.False(step.Executed);
        Assert.Equal("Error: Division by zero at position 3 in '1/0'.", step.Observation);
        Assert.Equal("undefined", result.Answer);
    }

    [Fact]
    public async Task Run_UtcClock_ObservesTheInjectedTime()
    {
        var model = new ScriptedChatTurnModel("Thought: check the clock.\nAction: utc_now\nAction Input: {}\n", "Final Answer: noon");
        var clock = new FixedTimeProvider(new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero));

        await using var host = await Microsoft.DurableTask.Testing.DurableTaskTestHost.StartAsync(
            registry => registry.AddQwenOrchestrations(),
            new Microsoft.DurableTask.Testing.DurableTaskTestHostOptions
            {
                ConfigureServices = services =>
                {
                    Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<IChatTurnModel>(services, model);
                    Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<TimeProvider>(services, clock);
                    services.AddQwenOrchestrations(new OrchestrationOptions());
                },
            });
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ReActAgentOrchestration), new AgentRunInput { Question = "What time is it?" });
        var metadata = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true);

        var result = metadata.ReadOutputAs<AgentRunResult>()!;
        Assert.Equal(new AgentStep("utc_now", "{}", "2024-05-01T12:00:00Z", true), Assert.Single(result.Steps));
    }

    [Fact]
    public async Task Run_ModelNeverAnswers_StopsAtMaxIterations()
    {
        var model = new ScriptedChatTurnModel { Fallback = "Thought: again.\nAction: calculator\nAction Input: {\"expression\": \"1+1\"}\n" };

        var result = await RunAsync(model, new AgentRunInput { Question = "Loop", MaxIterations = 3 });

        Assert.Equal("max_iterations", result.Status);
        Assert.Null(result.Answer);
        Assert.Equal(3, result.Steps.Count);
        Assert.All(result.Steps, s => Assert.Equal("2", s.Observation));
        Assert.Equal(3, model.Requests.Count);
    }

    [Fact]
    public async Task Run_PlainAnswerWithoutReActFormat_ReturnedAsNoAction()
    {
        var model = new ScriptedChatTurnModel("  Paris is the capital of France.  ");

        var result = await RunAsync(model, new AgentRunInput { Question = "Capital of France?" });

        Assert.Equal("no_action", result.Status);
        Assert.Equal("Paris is the capital of France.", result.Answer);
        Assert.Empty(result.Steps);
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
