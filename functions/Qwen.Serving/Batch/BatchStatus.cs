namespace Qwen.Serving.Batch;

/// <summary>OpenAI's batch states: validating → in_progress → finalizing → completed, or failed, or cancelling → cancelled.</summary>
public static class BatchStatus
{
    public const string Validating = "validating";
    public const string InProgress = "in_progress";
    public const string Finalizing = "finalizing";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelling = "cancelling";
    public const string Cancelled = "cancelled";
    public const string Expired = "expired";

    /// <summary>True once nothing will change the batch any more.</summary>
    public static bool IsTerminal(string status) => status is Completed or Failed or Cancelled or Expired;

    /// <summary>True while lines may still run.</summary>
    public static bool IsRunning(string status) => status is Validating or InProgress;
}
