using System.ComponentModel;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Qwen.ModelPrep.Commands;

/// <summary>The <c>upload</c> command: verifies a model package, then uploads it to Blob Storage as <c>&lt;name&gt;/&lt;version&gt;/…</c>, manifest last.</summary>
/// <remarks>
/// The manifest goes last (and any old one is deleted first), so a worker's model cache never sees a manifest whose
/// files are not all in place: during an upload the version simply looks absent.
/// </remarks>
public sealed class UploadCommand : AsyncCommand<UploadCommand.Settings>
{
    /// <summary>Arguments of <c>model-prep upload</c>.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--package <DIR>")]
        [Description("Model package directory (made by `model-prep convert`).")]
        public string? Package { get; init; }

        [CommandOption("--container-uri <URI>")]
        [Description("Blob container URI, e.g. https://<account>.blob.core.windows.net/models (signs in with DefaultAzureCredential).")]
        public string? ContainerUri { get; init; }

        [CommandOption("--connection-string <CS>")]
        [Description("Storage connection string (Azurite/development); use with --container.")]
        public string? ConnectionString { get; init; }

        [CommandOption("--container <NAME>")]
        [Description("Container name with --connection-string (default: models).")]
        public string Container { get; init; } = "models";

        [CommandOption("--name <NAME>")]
        [Description("Model name: the first blob path segment (Qwen__Model__Name on the workers).")]
        public string? Name { get; init; }

        [CommandOption("--version <VERSION>")]
        [Description("Package version: the second blob path segment (Qwen__Model__Version on the workers).")]
        public string? Version { get; init; }

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Package)) return ValidationResult.Error("--package <dir> is required.");
            if (string.IsNullOrWhiteSpace(ContainerUri) == string.IsNullOrWhiteSpace(ConnectionString))
                return ValidationResult.Error("Give exactly one of --container-uri <uri> or --connection-string <cs>.");
            if (!string.IsNullOrWhiteSpace(ContainerUri) && !Uri.TryCreate(ContainerUri, UriKind.Absolute, out _))
                return ValidationResult.Error($"--container-uri '{ContainerUri}' is not an absolute URI.");
            foreach (var (option, value) in new[] { ("--name", Name), ("--version", Version) })
            {
                if (string.IsNullOrWhiteSpace(value)) return ValidationResult.Error($"{option} is required.");
                if (value.Contains('/') || value.Contains('\\') || value is "." or "..")
                    return ValidationResult.Error($"{option} '{value}' must be a single path segment (no slashes).");
            }
            return ValidationResult.Success();
        }
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var container = settings.ConnectionString is { Length: > 0 } cs
            ? new BlobContainerClient(cs, settings.Container)
            : new BlobContainerClient(new Uri(settings.ContainerUri!), new DefaultAzureCredential());
        if (settings.ConnectionString is { Length: > 0 })
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        var manifest = VerifyPackage(settings.Package!);
        long total = 0;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var tasks = manifest.Files.ToDictionary(f => f.Path, f => progress.AddTask(f.Path, maxValue: Math.Max(1, f.Size)));
                total = await UploadAsync(settings.Package!, container, settings.Name!, settings.Version!,
                    (path, bytes) => tasks[path].Value = bytes, cancellationToken);
            });
        AnsiConsole.MarkupLineInterpolated($"uploaded {manifest.Files.Count + 1} files ({total:N0} bytes) to {container.Uri}/{settings.Name}/{settings.Version}/");
        return 0;
    }

    /// <summary>Checks every file against the manifest (sizes and sha256) before anything is uploaded.</summary>
    /// <exception cref="ModelPrepException">The directory is not a complete, intact package.</exception>
    public static ModelManifest VerifyPackage(string packageDirectory)
    {
        try
        {
            return ModelPackage.Open(packageDirectory, PackageVerification.Always).Manifest;
        }
        catch (QwenEngineException ex)
        {
            throw new ModelPrepException($"Refusing to upload {packageDirectory}: {ex.Message}", ex);
        }
    }

    /// <summary>Verifies and uploads the package under <c>&lt;name&gt;/&lt;version&gt;/</c>: old manifest deleted, files uploaded, manifest last.</summary>
    /// <param name="packageDirectory">The package directory.</param>
    /// <param name="container">Destination container (authenticated by the caller).</param>
    /// <param name="name">Model name (first path segment).</param>
    /// <param name="version">Package version (second path segment).</param>
    /// <param name="onProgress">Called with a file's path and its bytes sent so far.</param>
    /// <param name="cancellationToken">Cancels the upload; the manifest is then absent, so workers see no version.</param>
    /// <returns>Bytes uploaded (manifest included).</returns>
    public static async Task<long> UploadAsync(string packageDirectory, BlobContainerClient container, string name, string version,
        Action<string, long>? onProgress = null, CancellationToken cancellationToken = default)
    {
        var manifest = VerifyPackage(packageDirectory);
        var prefix = $"{name}/{version}/";
        await container.GetBlobClient(prefix + ModelManifest.FileName).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        long total = 0;
        foreach (var file in manifest.Files)
        {
            var local = Path.Combine(packageDirectory, file.Path.Replace('/', Path.DirectorySeparatorChar));
            await using var stream = File.OpenRead(local);
            await container.GetBlobClient(prefix + file.Path).UploadAsync(stream, new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
                ProgressHandler = new Progress(bytes => onProgress?.Invoke(file.Path, bytes)),
            }, cancellationToken);
            onProgress?.Invoke(file.Path, file.Size);
            total += file.Size;
        }
        var manifestPath = Path.Combine(packageDirectory, ModelManifest.FileName);
        await container.GetBlobClient(prefix + ModelManifest.FileName).UploadAsync(manifestPath, new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
        }, cancellationToken);
        return total + new FileInfo(manifestPath).Length;
    }

    // Synchronous IProgress: Progress<T> would post to the thread pool and report out of order.
    private sealed class Progress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
