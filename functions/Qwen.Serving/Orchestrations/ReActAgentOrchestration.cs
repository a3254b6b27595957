using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Qwen.Inference.Chat;
using Qwen.Serving.Tools;

namespace Qwen.Serving.Orchestrations;

/// <summary>A ReAct agent: generate until <c>Observation:</c>, parse the action, run the tool (allow-listed only), append the observation; until Final Answer or the round limit.</summary>
/// <remarks>
/// The allow-list snapshot comes from <see cref="ListToolsActivity"/> once per run, so replays see the same list. A tool
/// the model names outside it is never scheduled: the refusal becomes the Observation, and the model can recover.
/// </remarks>
public sealed partial class ReActAgentOrchestration : TaskOrchestrator<AgentRunInput, AgentRunResult>
{
    /// <inheritdoc />
    public override async Task<AgentRunResult> RunAsync(TaskOrchestrationContext context, AgentRunInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var logger = context.CreateReplaySafeLogger<ReActAgentOrchestration>();
        var tools = await context.CallActivityAsync<ToolDescriptor[]>(nameof(ListToolsActivity), input.Tools.ToArray());
        var allowed = tools.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var prompt = ReActTemplates.ReactPrompt(
            tools.Select(t => new QwenToolDefinition(t.Name, t.Description, t.ParametersJson) { NameForHuman = t.HumanName }).ToArray(),
            input.Question);
        var transcript = new AgentTranscript(input.MaxTranscriptChars);
        var steps = new List<AgentStep>();

        for (var iteration = 1; iteration <= Math.Max(1, input.MaxIterations); iteration++)
        {
            context.SetCustomStatus(new AgentRunStatus(iteration, steps.LastOrDefault()));
            if (!transcript.Fit())
            {
                // Even with every observation elided the model's own steps no longer fit: end clearly instead of faulting.
                LogFinished(logger, context.InstanceId, "failed", iteration);
                return new AgentRunResult("failed", null, iteration - 1, steps, transcript.Text)
                {
                    Error = $"The transcript grew past {input.MaxTranscriptChars:N0} characters even with earlier observations elided; ask a narrower question or raise max_transcript_chars.",
                };
            }
            List<ChatTurnMessage> messages = [ChatTurnMessage.User(prompt)];
            if (transcript.Text.Length > 0)
            {
                messages.Add(ChatTurnMessage.Assistant(transcript.Text));
            }
            ChatTurnResult turn;
            try
            {
                turn = await context.CallActivityAsync<ChatTurnResult>(nameof(GenerateTurnActivity), new ChatTurnRequest
                {
                    Messages = messages,
                    ContinueLastAssistant = transcript.Text.Length > 0,
                    Stop = ReActTemplates.StopWords,
                    MaxTokens = input.MaxTokens,
                    Temperature = input.Temperature,
                }, TurnRetry.Options);
            }
            catch (TaskFailedException ex)
            {
                LogFinished(logger, context.InstanceId, "failed", iteration);
                return new AgentRunResult("failed", null, iteration - 1, steps, transcript.Text) { Error = $"The model failed to answer: {ex.FailureDetails.ErrorMessage}" };
            }
            transcript.AddModelText(turn.Text);

            // A leading newline lets a reply that starts with "Action:" or "Final Answer: " match the markers.
            var step = ReActParser.ParseLatestToolCall("\n" + turn.Text);
            if (!step.IsToolCall)
            {
                var status = ("\n" + turn.Text).Contains("\nFinal Answer: ", StringComparison.Ordinal) ? "answered" : "no_action";
                LogFinished(logger, context.InstanceId, status, iteration);
                return new AgentRunResult(status, step.Content, iteration, steps, transcript.Text);
            }
            var toolName = step.ToolName!;
            var arguments = step.RawArguments ?? "";

            string observation;
            bool executed;
            if (!allowed.Contains(toolName))
            {
                observation = $"Error: the tool '{toolName}' is not allowed. Use one of [{string.Join(",", allowed.Order(StringComparer.Ordinal))}].";
                executed = false;
                LogRefused(logger, context.InstanceId, toolName);
            }
            else
            {
                try
                {
                    observation = await context.CallActivityAsync<string>(nameof(CallToolActivity), new ToolCall(toolName, arguments));
                    executed = true;
                }
                catch (TaskFailedException ex)
                {
                    observation = $"Error: {ex.FailureDetails.ErrorMessage}";
                    executed = false;
                }
            }
            steps.Add(new AgentStep(toolName, arguments, observation, executed));
            transcript.AddObservation(observation);
        }

        LogFinished(logger, context.InstanceId, "max_iterations", input.MaxIterations);
        context.SetCustomStatus(new AgentRunStatus(input.MaxIterations, steps.LastOrDefault()));
        return new AgentRunResult("max_iterations", null, Math.Max(1, input.MaxIterations), steps, transcript.Text);
    }

    [LoggerMessage(110, LogLevel.Warning, "Agent run {InstanceId}: the model asked for tool '{Tool}', which is not allow-listed; refused")]
    private static partial void LogRefused(ILogger logger, string instanceId, string tool);

    [LoggerMessage(111, LogLevel.Information, "Agent run {InstanceId} finished ({Status}) after {Iterations} rounds")]
    private static partial void LogFinished(ILogger logger, string instanceId, string status, int iterations);
}
