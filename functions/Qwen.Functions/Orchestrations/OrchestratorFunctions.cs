using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Qwen.Serving.Orchestrations;

namespace Qwen.Functions.Orchestrations;

/// <summary>Durable orchestrator triggers: thin adapters over the deterministic orchestrations in Qwen.Serving.</summary>
public static class OrchestratorFunctions
{
    /// <summary>The multi-turn ChatML session.</summary>
    [Function(nameof(ChatSessionOrchestration))]
    public static Task<ChatSessionResult?> ChatSession([OrchestrationTrigger] TaskOrchestrationContext context)
        => new ChatSessionOrchestration().RunAsync(context, context.GetInput<ChatSessionInput>() ?? new ChatSessionInput());

    /// <summary>The ReAct agent run.</summary>
    [Function(nameof(ReActAgentOrchestration))]
    public static Task<AgentRunResult> ReActAgent([OrchestrationTrigger] TaskOrchestrationContext context)
        => new ReActAgentOrchestration().RunAsync(context, context.GetInput<AgentRunInput>()
            ?? throw new InvalidOperationException("An agent run needs an AgentRunInput with a question."));
}
