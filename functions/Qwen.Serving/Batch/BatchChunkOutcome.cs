namespace Qwen.Serving.Batch;

/// <summary>What one delivery of a chunk message did.</summary>
/// <param name="Status">The batch's status afterwards (null when the batch does not exist).</param>
/// <param name="RequestsRun">Requests sent to the engine by this delivery (finished ones from earlier deliveries are not run again).</param>
/// <param name="Requeued">True when the chunk ran out of its time budget and queued the rest as a new message.</param>
public sealed record BatchChunkOutcome(string? Status, int RequestsRun, bool Requeued = false);
