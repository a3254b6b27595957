using System.Text.Json;
using Microsoft.DurableTask.Client;
using Qwen.Serving.Orchestrations;

namespace Qwen.Serving.Tests.Orchestrations;

public sealed class ChatSessionOrchestrationTests
{
    private static ChatSessionStatus? Status(OrchestrationMetadata m)
        => m.SerializedCustomStatus is null ? null : JsonSerializer.Deserialize<ChatSessionStatus>(m.SerializedCustomStatus, new JsonSerializerOptions(JsonSerializerDefaults.Web));

    private static Task<OrchestrationMetadata> WaitForTurnsAsync(DurableTaskClient client, string id, int turns)
        => OrchestrationHost.WaitUntilAsync(client, id, m => Status(m) is { State: "waiting" } s && s.Turns == turns);

    [Fact]
    public async Task Session_MessagesThenEnd_AnswersEachTurnWithAccumulatedHistory()
    {
        var model = new ScriptedChatTurnModel("Hello! How can I help you?", "1+1 is 2.");
        await using var host = await OrchestrationHost.StartAsync(model);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ChatSessionOrchestration),
            new ChatSessionInput { System = "Be brief.", FirstMessage = "Hi" });

        var afterFirst = await WaitForTurnsAsync(host.Client, id, 1);
        Assert.Equal(new ChatSessionStatus("waiting", 1, "Hello! How can I help you?"), Status(afterFirst));

        await host.Client.RaiseEventAsync(id, ChatSessionOrchestration.UserMessageEvent, new ChatSessionMessage("What is 1+1?"));
        var afterSecond = await WaitForTurnsAsync(host.Client, id, 2);
        Assert.Equal("1+1 is 2.", Status(afterSecond)!.LastAnswer);

        await host.Client.RaiseEventAsync(id, ChatSessionOrchestration.UserMessageEvent, new ChatSessionMessage(null, End: true));
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<ChatSessionResult>()!;
        Assert.Equal("ended_by_user", result.EndReason);
        Assert.Equal(2, result.Turns);
        Assert.Equal(
            [ChatTurnMessage.User("Hi"), ChatTurnMessage.Assistant("Hello! How can I help you?"), ChatTurnMessage.User("What is 1+1?"), ChatTurnMessage.Assistant("1+1 is 2.")],
            result.History);
        var second = model.Requests.ToArray()[1];
        Assert.Equal("Be brief.", second.System);
        Assert.Equal([ChatTurnMessage.User("Hi"), ChatTurnMessage.Assistant("Hello! How can I help you?"), ChatTurnMessage.User("What is 1+1?")], second.Messages);
        Assert.False(second.ContinueLastAssistant);
    }

    [Fact]
    public async Task Session_NoMessageWithinIdleTimeout_EndsWithIdleTimeout()
    {
        var model = new ScriptedChatTurnModel();
        await using var host = await OrchestrationHost.StartAsync(model);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ChatSessionOrchestration),
            new ChatSessionInput { IdleTimeout = TimeSpan.FromSeconds(2) });

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);

        var result = done.ReadOutputAs<ChatSessionResult>()!;
        Assert.Equal("idle_timeout", result.EndReason);
        Assert.Equal(0, result.Turns);
        Assert.Empty(model.Requests);
        Assert.Equal(new ChatSessionStatus("ended", 0, null), Status(done));
    }

    [Fact]
    public async Task Session_LongerThanOneExecution_ContinuesAsNewWithBoundedHistory()
    {
        var model = new ScriptedChatTurnModel("a1", "a2", "a3", "a4");
        await using var host = await OrchestrationHost.StartAsync(model);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ChatSessionOrchestration),
            new ChatSessionInput { FirstMessage = "q1", TurnsPerExecution = 2, MaxHistoryMessages = 4 });

        await WaitForTurnsAsync(host.Client, id, 1);
        foreach (var (question, turns) in new[] { ("q2", 2), ("q3", 3), ("q4", 4) })
        {
            await host.Client.RaiseEventAsync(id, ChatSessionOrchestration.UserMessageEvent, new ChatSessionMessage(question));
            var state = await WaitForTurnsAsync(host.Client, id, turns);
            Assert.Equal($"a{turns}", Status(state)!.LastAnswer);
        }
        await host.Client.RaiseEventAsync(id, ChatSessionOrchestration.UserMessageEvent, new ChatSessionMessage(null, End: true));
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true);

        var result = done.ReadOutputAs<ChatSessionResult>()!;
        Assert.Equal(4, result.Turns);
        Assert.Equal([ChatTurnMessage.User("q3"), ChatTurnMessage.Assistant("a3"), ChatTurnMessage.User("q4"), ChatTurnMessage.Assistant("a4")], result.History);
        // Turn 3 ran in the second execution: its prompt still carries the bounded history from before ContinueAsNew.
        Assert.Equal([ChatTurnMessage.User("q2"), ChatTurnMessage.Assistant("a2"), ChatTurnMessage.User("q3")], model.Requests.ToArray()[2].Messages);
        // Two turns per execution: the last execution started from the state carried after turn 4.
        var input = done.ReadInputAs<ChatSessionInput>()!;
        Assert.Equal(4, input.Turns);
        Assert.Equal("a4", input.LastAnswer);
        Assert.Null(input.FirstMessage);
    }

    [Fact]
    public async Task Session_ModelFails_SessionSurvivesAndReportsTheError()
    {
        var model = new ScriptedChatTurnModel(); // no answers: every turn throws
        await using var host = await OrchestrationHost.StartAsync(model);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ChatSessionOrchestration), new ChatSessionInput());

        await host.Client.RaiseEventAsync(id, ChatSessionOrchestration.UserMessageEvent, new ChatSessionMessage("Hi"));
        var state = await OrchestrationHost.WaitUntilAsync(host.Client, id, m => Status(m) is { State: "waiting", LastError: not null }, TimeSpan.FromSeconds(60));

        Assert.Equal(0, Status(state)!.Turns);
        Assert.Contains("The script has no answer", Status(state)!.LastError, StringComparison.Ordinal);
        Assert.Equal(OrchestrationRuntimeStatus.Running, state.RuntimeStatus);
        Assert.Equal(3, model.Requests.Count); // the retry policy's three attempts
    }

    [Fact]
    public void Bound_DropsOldestButKeepsPairsWhole()
    {
        var messages = new List<ChatTurnMessage> { new("user", "q1"), new("assistant", "a1"), new("user", "q2"), new("assistant", "a2"), new("user", "q3") };

        Assert.Equal(["q2", "a2", "q3"], ChatSessionOrchestration.Bound(messages, 4).Select(m => m.Content));
        Assert.Equal(["q1", "a1", "q2", "a2", "q3"], ChatSessionOrchestration.Bound(messages, 5).Select(m => m.Content));
        Assert.Equal(["q3"], ChatSessionOrchestration.Bound(messages, 1).Select(m => m.Content));
    }
}
