namespace Qwen.Serving.Http;

/// <summary>Route templates of the Files and Batches APIs, shared by both hosts.</summary>
public static class BatchApiRoutes
{
    public const string Files = "v1/files";
    public const string File = "v1/files/{fileId}";
    public const string FileContent = "v1/files/{fileId}/content";
    public const string Batches = "v1/batches";
    public const string Batch = "v1/batches/{batchId}";
    public const string BatchCancel = "v1/batches/{batchId}/cancel";
}
