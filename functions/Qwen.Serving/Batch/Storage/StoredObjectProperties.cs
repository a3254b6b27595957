namespace Qwen.Serving.Batch.Storage;

/// <summary>What storage knows about an object without reading it: its size in bytes and its version (ETag).</summary>
public sealed record StoredObjectProperties(long Size, string ETag);
