using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Qwen.Serving.Orchestrations;

/// <summary>A multi-turn ChatML session: waits for <c>UserMessage</c> events, answers each with <see cref="GenerateTurnActivity"/>, ends when idle.</summary>
/// <remarks>
/// Deterministic: all model I/O is in the activity; time comes from the durable timer of the event wait. Every
/// <see cref="ChatSessionInput.TurnsPerExecution"/> turns it continues as new with the bounded history, so the event
/// history of a long conversation stays small; events that arrive meanwhile are kept.
/// </remarks>
public sealed partial class ChatSessionOrchestration : TaskOrchestrator<ChatSessionInput, ChatSessionResult?>
{
    /// <summary>External event carrying a <see cref="ChatSessionMessage"/>.</summary>
    public const string UserMessageEvent = "UserMessage";

    /// <inheritdoc />
    public override async Task<ChatSessionResult?> RunAsync(TaskOrchestrationContext context, ChatSessionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger<ChatSessionOrchestration>();
        var history = new List<ChatTurnMessage>(input.History);
        var turns = input.Turns;
        var lastAnswer = input.LastAnswer;
        var pending = input.FirstMessage;
        var turnsThisExecution = 0;
        string? lastError = null;

        while (true)
        {
            if (pending is null)
            {
                context.SetCustomStatus(new ChatSessionStatus("waiting", turns, lastAnswer, lastError));
                ChatSessionMessage message;
                try
                {
                    message = await context.WaitForExternalEvent<ChatSessionMessage>(UserMessageEvent, input.IdleTimeout);
                }
                catch (TaskCanceledException)
                {
                    LogEnded(logger, context.InstanceId, "idle_timeout", turns);
                    context.SetCustomStatus(new ChatSessionStatus("ended", turns, lastAnswer, lastError));
                    return new ChatSessionResult("idle_timeout", turns, lastAnswer, history);
                }
                if (message.End)
                {
                    LogEnded(logger, context.InstanceId, "ended_by_user", turns);
                    context.SetCustomStatus(new ChatSessionStatus("ended", turns, lastAnswer, lastError));
                    return new ChatSessionResult("ended_by_user", turns, lastAnswer, history);
                }
                if (string.IsNullOrWhiteSpace(message.Content))
                {
                    lastError = "An empty user message was ignored.";
                    continue;
                }
                pending = message.Content;
            }

            context.SetCustomStatus(new ChatSessionStatus("generating", turns, lastAnswer));
            var prompt = Bound([.. history, ChatTurnMessage.User(pending)], input.MaxHistoryMessages);
            try
            {
                var answer = await context.CallActivityAsync<ChatTurnResult>(nameof(GenerateTurnActivity), new ChatTurnRequest
                {
                    System = input.System,
                    Messages = prompt,
                    MaxTokens = input.MaxTokens,
                    Temperature = input.Temperature,
                }, TurnRetry.Options);
                history = Bound([.. prompt, ChatTurnMessage.Assistant(answer.Text.Trim())], input.MaxHistoryMessages);
                lastAnswer = answer.Text.Trim();
                lastError = null;
                turns++;
                turnsThisExecution++;
                LogTurn(logger, context.InstanceId, turns, answer.CompletionTokens);
            }
            catch (TaskFailedException ex)
            {
                // The turn is dropped (the user may resend); the session itself survives a worker outage.
                lastError = $"The model failed to answer: {ex.FailureDetails.ErrorMessage}";
                LogTurnFailed(logger, context.InstanceId, ex.FailureDetails.ErrorMessage);
            }
            pending = null;

            if (turnsThisExecution >= input.TurnsPerExecution)
            {
                context.SetCustomStatus(new ChatSessionStatus("waiting", turns, lastAnswer, lastError));
                context.ContinueAsNew(input with { FirstMessage = null, History = history, Turns = turns, LastAnswer = lastAnswer }, preserveUnprocessedEvents: true);
                return null;
            }
        }
    }

    /// <summary>The newest <paramref name="max"/> messages, starting at a user message so pairs stay whole.</summary>
    internal static List<ChatTurnMessage> Bound(List<ChatTurnMessage> messages, int max)
    {
        var start = Math.Max(0, messages.Count - Math.Max(1, max));
        while (start < messages.Count - 1 && messages[start].Role != "user")
        {
            start++;
        }
        return messages.GetRange(start, messages.Count - start);
    }

    [LoggerMessage(100, LogLevel.Information, "Chat session {InstanceId}: turn {Turn} answered with {Tokens} tokens")]
    private static partial void LogTurn(ILogger logger, string instanceId, int turn, int tokens);

    [LoggerMessage(101, LogLevel.Warning, "Chat session {InstanceId}: turn failed: {Error}")]
    private static partial void LogTurnFailed(ILogger logger, string instanceId, string error);

    [LoggerMessage(102, LogLevel.Information, "Chat session {InstanceId} ended ({Reason}) after {Turns} turns")]
    private static partial void LogEnded(ILogger logger, string instanceId, string reason, int turns);
}
