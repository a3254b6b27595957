using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Qwen.Serving.Batch;

namespace Qwen.Serving.Http;

/// <summary>OpenAI's Files API for batch input and output: <c>POST /v1/files</c>, <c>GET /v1/files[/{id}[/content]]</c>, <c>DELETE /v1/files/{id}</c>.</summary>
/// <remarks>Only <c>purpose=batch</c> uploads are accepted (this server has no other use for files). Thread-safe singleton.</remarks>
public sealed class FilesHandler(BatchStore store, BatchOptions options, ApiKeyAuthorizer authorizer, IServingMetrics metrics, ILogger<FilesHandler> logger)
{
    private const string Route = "files";

    // Multipart framing around the file (boundaries, the purpose field) on top of the file's own limit.
    private const long FormOverhead = 64 * 1024;

    /// <summary>POST /v1/files (multipart/form-data: <c>file</c>, <c>purpose</c>).</summary>
    public Task CreateAsync(HttpContext context) => OpenAiEndpoint.RunAsync(context, authorizer, metrics, logger, Route, async () =>
    {
        var limit = options.MaxInputBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit + FormOverhead; // Kestrel's default 30 MB would cut large inputs short
        }
        if (context.Request.ContentLength > limit + FormOverhead)
        {
            throw TooLarge(context.Request.ContentLength.Value, limit);
        }
        if (!context.Request.HasFormContentType)
        {
            throw OpenAiException.Invalid("file", "Upload files as multipart/form-data with the fields 'file' and 'purpose'.");
        }
        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = limit + FormOverhead }, context.RequestAborted).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            throw new OpenAiException(400, $"The multipart body could not be read: {ex.Message}", "invalid_request_error", "file", "invalid_multipart");
        }
        var purpose = form["purpose"].ToString();
        if (string.IsNullOrEmpty(purpose))
        {
            throw OpenAiException.Invalid("purpose", "'purpose' is required; use 'batch'.");
        }
        if (purpose != "batch")
        {
            throw OpenAiException.Invalid("purpose", $"The purpose '{purpose}' is not supported here; this server stores files for the Batch API only (purpose 'batch').", "unsupported_purpose");
        }
        var file = form.Files.GetFile("file") ?? throw OpenAiException.Invalid("file", "'file' is required: the JSONL input of a batch.");
        if (file.Length > limit)
        {
            throw TooLarge(file.Length, limit);
        }
        await using var content = file.OpenReadStream();
        var record = await store.CreateFileAsync(string.IsNullOrEmpty(file.FileName) ? "input.jsonl" : Path.GetFileName(file.FileName), purpose, content, context.RequestAborted, CallerIdentity.Owner(context)).ConfigureAwait(false);
        await OpenAiEndpoint.WriteAsync(context, ToJson(record)).ConfigureAwait(false);
    });

    /// <summary>GET /v1/files/{id}.</summary>
    public Task RetrieveAsync(HttpContext context, string fileId) => OpenAiEndpoint.RunAsync(context, authorizer, metrics, logger, Route, async () =>
    {
        var record = await GetOwnFileAsync(context, fileId).ConfigureAwait(false);
        await OpenAiEndpoint.WriteAsync(context, ToJson(record)).ConfigureAwait(false);
    });

    /// <summary>GET /v1/files/{id}/content: the bytes.</summary>
    public Task ContentAsync(HttpContext context, string fileId) => OpenAiEndpoint.RunAsync(context, authorizer, metrics, logger, Route, async () =>
    {
        _ = await GetOwnFileAsync(context, fileId).ConfigureAwait(false);
        var name = BatchStore.FileDataName(fileId);
        var properties = await store.Storage.GetPropertiesAsync(name, context.RequestAborted).ConfigureAwait(false) ?? throw NotFound(fileId);
        await using var stream = await store.Storage.OpenReadAsync(name, 0, null, context.RequestAborted).ConfigureAwait(false) ?? throw NotFound(fileId);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/jsonl";
        context.Response.ContentLength = properties.Size;
        await stream.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    });

    /// <summary>DELETE /v1/files/{id}.</summary>
    public Task DeleteAsync(HttpContext context, string fileId) => OpenAiEndpoint.RunAsync(context, authorizer, metrics, logger, Route, async () =>
    {
        _ = await GetOwnFileAsync(context, fileId).ConfigureAwait(false);
        if (!await store.DeleteFileAsync(fileId, context.RequestAborted).ConfigureAwait(false))
        {
            throw NotFound(fileId);
        }
        await OpenAiEndpoint.WriteAsync(context, new JsonObject { ["id"] = fileId, ["object"] = "file", ["deleted"] = true }).ConfigureAwait(false);
    });

    /// <summary>GET /v1/files?purpose=&amp;limit=&amp;after=&amp;order=: newest first unless <c>order=asc</c>.</summary>
    public Task ListAsync(HttpContext context) => OpenAiEndpoint.RunAsync(context, authorizer, metrics, logger, Route, async () =>
    {
        var limit = OpenAiEndpoint.QueryInt(context, "limit", 10_000, 1, 10_000);
        var purpose = context.Request.Query["purpose"].ToString();
        var order = context.Request.Query["order"].ToString();
        if (order is not ("" or "asc" or "desc"))
        {
            throw OpenAiException.Invalid("order", $"'order' is '{order}'; use 'asc' or 'desc'.");
        }
        var files = new List<FileRecord>();
        var owner = CallerIdentity.Owner(context);
        await foreach (var file in store.ListFilesAsync(context.RequestAborted).ConfigureAwait(false))
        {
            if ((purpose.Length == 0 || file.Purpose == purpose) && string.Equals(file.Owner, owner, StringComparison.Ordinal))
            {
                files.Add(file);
            }
        }
        IEnumerable<FileRecord> sorted = order == "asc"
            ? files.OrderBy(f => f.CreatedAt).ThenBy(f => f.Id, StringComparer.Ordinal)
            : files.OrderByDescending(f => f.CreatedAt).ThenByDescending(f => f.Id, StringComparer.Ordinal);
        var page = OpenAiEndpoint.Page(sorted.Select(f => (f.Id, (JsonNode)ToJson(f))).ToList(), context.Request.Query["after"].ToString(), limit);
        await OpenAiEndpoint.WriteAsync(context, page).ConfigureAwait(false);
    });

    // Another tenant's file is answered exactly like a missing one, so ids cannot be probed.
    private async Task<FileRecord> GetOwnFileAsync(HttpContext context, string fileId)
    {
        var record = await store.GetFileAsync(fileId, context.RequestAborted).ConfigureAwait(false);
        return record is not null && string.Equals(record.Owner, CallerIdentity.Owner(context), StringComparison.Ordinal) ? record : throw NotFound(fileId);
    }

    private static JsonObject ToJson(FileRecord record)
    {
        var json = JsonSerializer.SerializeToNode(record, BatchStore.Json)!.AsObject();
        json.Remove("owner"); // stored for access checks, not part of OpenAI's File object
        return json;
    }

    private static OpenAiException NotFound(string fileId) =>
        new(404, $"No such File object: {fileId}", "invalid_request_error", "id", "file_not_found");

    private static OpenAiException TooLarge(long size, long limit) =>
        new(413, $"The file has {size:N0} bytes; batch input files may have at most {limit:N0}.", "invalid_request_error", "file", "file_too_large");
}
