using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Qwen.Serving.Http;

/// <summary>Maps the Files and Batches routes onto <see cref="FilesHandler"/> and <see cref="BatchesHandler"/> for an ASP.NET Core host.</summary>
public static class BatchApiEndpointRouteBuilderExtensions
{
    /// <summary>Maps <c>/v1/files</c> and <c>/v1/batches</c>.</summary>
    public static IEndpointRouteBuilder MapQwenBatchApi(this IEndpointRouteBuilder endpoints)
    {
        static FilesHandler F(HttpContext c) => c.RequestServices.GetRequiredService<FilesHandler>();
        static BatchesHandler B(HttpContext c) => c.RequestServices.GetRequiredService<BatchesHandler>();
        static string Id(HttpContext c, string name) => (string)c.GetRouteValue(name)!;
        endpoints.MapPost(BatchApiRoutes.Files, c => F(c).CreateAsync(c));
        endpoints.MapGet(BatchApiRoutes.Files, c => F(c).ListAsync(c));
        endpoints.MapGet(BatchApiRoutes.File, c => F(c).RetrieveAsync(c, Id(c, "fileId")));
        endpoints.MapGet(BatchApiRoutes.FileContent, c => F(c).ContentAsync(c, Id(c, "fileId")));
        endpoints.MapDelete(BatchApiRoutes.File, c => F(c).DeleteAsync(c, Id(c, "fileId")));
        endpoints.MapPost(BatchApiRoutes.Batches, c => B(c).CreateAsync(c));
        endpoints.MapGet(BatchApiRoutes.Batches, c => B(c).ListAsync(c));
        endpoints.MapGet(BatchApiRoutes.Batch, c => B(c).RetrieveAsync(c, Id(c, "batchId")));
        endpoints.MapPost(BatchApiRoutes.BatchCancel, c => B(c).CancelAsync(c, Id(c, "batchId")));
        return endpoints;
    }
}
