namespace Qwen.Serving.Batch.Storage;

/// <summary>An object's content with the version it was read at (pass it to <see cref="IBatchStorage.TryReplaceAsync"/>).</summary>
public sealed record StoredObject(BinaryData Content, string ETag);
