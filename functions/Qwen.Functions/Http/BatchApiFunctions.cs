using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Qwen.Serving.Http;

namespace Qwen.Functions.Http;

/// <summary>The Files and Batches APIs as HTTP-triggered functions: thin adapters over <see cref="FilesHandler"/> and <see cref="BatchesHandler"/>.</summary>
/// <remarks>Anonymous at the host, like <see cref="OpenAiFunctions"/>: the handlers check the app's own key.</remarks>
public sealed class BatchApiFunctions(FilesHandler files, BatchesHandler batches)
{
    [Function(nameof(CreateFile))]
    public async Task<IActionResult> CreateFile(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = BatchApiRoutes.Files)] HttpRequest request)
    {
        await files.CreateAsync(request.HttpContext).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(ListFiles))]
    public async Task<IActionResult> ListFiles(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = BatchApiRoutes.Files)] HttpRequest request)
    {
        await files.ListAsync(request.HttpContext).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(RetrieveFile))]
    public async Task<IActionResult> RetrieveFile(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = BatchApiRoutes.File)] HttpRequest request, string fileId)
    {
        await files.RetrieveAsync(request.HttpContext, fileId).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(FileContent))]
    public async Task<IActionResult> FileContent(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = BatchApiRoutes.FileContent)] HttpRequest request, string fileId)
    {
        await files.ContentAsync(request.HttpContext, fileId).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(DeleteFile))]
    public async Task<IActionResult> DeleteFile(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = BatchApiRoutes.File)] HttpRequest request, string fileId)
    {
        await files.DeleteAsync(request.HttpContext, fileId).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(CreateBatch))]
    public async Task<IActionResult> CreateBatch(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = BatchApiRoutes.Batches)] HttpRequest request)
    {
        await batches.CreateAsync(request.HttpContext).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(ListBatches))]
    public async Task<IActionResult> ListBatches(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = BatchApiRoutes.Batches)] HttpRequest request)
    {
        await batches.ListAsync(request.HttpContext).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(RetrieveBatch))]
    public async Task<IActionResult> RetrieveBatch(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = BatchApiRoutes.Batch)] HttpRequest request, string batchId)
    {
        await batches.RetrieveAsync(request.HttpContext, batchId).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(CancelBatch))]
    public async Task<IActionResult> CancelBatch(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = BatchApiRoutes.BatchCancel)] HttpRequest request, string batchId)
    {
        await batches.CancelAsync(request.HttpContext, batchId).ConfigureAwait(false);
        return new EmptyResult();
    }
}
