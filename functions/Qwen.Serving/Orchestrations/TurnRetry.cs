using Microsoft.DurableTask;
using Qwen.Inference.Chat;
using Qwen.Inference.Generation;

namespace Qwen.Serving.Orchestrations;

/// <summary>The retry rule of model turns: transient failures (worker down, 5xx, timeouts, 429) are retried; a rejected request never is.</summary>
/// <remarks>A 4xx answer is the same on every attempt, so retrying it only multiplies the load and delays the error.</remarks>
public static class TurnRetry
{
    /// <summary>Three attempts, 2 s then 4 s apart, for transient failures only.</summary>
    public static TaskOptions Options { get; } = TaskOptions.FromRetryPolicy(new RetryPolicy(3, TimeSpan.FromSeconds(2), 2.0)
    {
        HandleFailure = IsTransient,
    });

    // Matched by name: TaskFailureDetails.IsCausedBy resolves ErrorType with Type.GetType, which does not find types
    // outside the calling assembly and core library, and a throwing predicate silently disables every retry.
    private static readonly HashSet<string> Permanent = new(StringComparer.Ordinal)
    {
        typeof(ChatTurnRejectedException).FullName!,
        typeof(ArgumentException).FullName!,
        typeof(ArgumentNullException).FullName!,
        typeof(ArgumentOutOfRangeException).FullName!,
        typeof(ContextLengthExceededException).FullName!,
        typeof(InvalidChatRequestException).FullName!,
    };

    /// <summary>False for failures that retrying cannot fix: a worker's 4xx, invalid turns, prompts over the context.</summary>
    public static bool IsTransient(TaskFailureDetails failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return !Permanent.Contains(failure.ErrorType);
    }
}
