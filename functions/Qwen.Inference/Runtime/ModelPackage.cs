using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Qwen.Inference.Packaging;

namespace Qwen.Inference.Runtime;

/// <summary>A model package directory whose manifest was read and whose files were checked against it (docs/package-format.md).</summary>
/// <remarks>Immutable and thread-safe. Opening never modifies the directory.</remarks>
public sealed class ModelPackage
{
    /// <summary>File name of the ONNX graph inside a package.</summary>
    public const string ModelFileName = "model.onnx";

    private static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web);

    // Packages whose hashes this process already checked, keyed by directory + every file's size and write time.
    private static readonly ConcurrentDictionary<string, bool> VerifiedStamps = new(StringComparer.Ordinal);

    private ModelPackage(string directory, ModelManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
    }

    /// <summary>Full path of the package directory.</summary>
    public string Directory { get; }

    /// <summary>The package manifest (<c>qwen-model.json</c>).</summary>
    public ModelManifest Manifest { get; }

    /// <summary>Full path of <c>model.onnx</c>.</summary>
    public string ModelPath => Path.Combine(Directory, ModelFileName);

    /// <summary>Full path of the tokenizer file named by the manifest.</summary>
    public string TokenizerPath => Path.Combine(Directory, Manifest.Tokenizer.File);

    /// <summary>Reads and checks the package in <paramref name="directory"/>.</summary>
    /// <exception cref="QwenEngineException">The manifest is missing, unreadable, of another format version, or a file is missing or differs from it.</exception>
    public static ModelPackage Open(string directory, PackageVerification verification = PackageVerification.FirstLoad)
    {
        const string operation = "open model package";
        var fullDirectory = Path.GetFullPath(directory);
        var manifestPath = Path.Combine(fullDirectory, ModelManifest.FileName);
        if (!File.Exists(manifestPath))
        {
            throw new QwenEngineException(operation,
                $"{manifestPath} does not exist, so {fullDirectory} is not a complete model package. Build one with `model-prep convert` (the manifest is written last).");
        }

        ModelManifest? manifest;
        try
        {
            using var stream = File.OpenRead(manifestPath);
            manifest = JsonSerializer.Deserialize<ModelManifest>(stream, ManifestJson);
        }
        catch (JsonException ex)
        {
            throw new QwenEngineException(operation, $"{manifestPath} is not a valid package manifest: {ex.Message}", ex);
        }
        if (manifest is null)
        {
            throw new QwenEngineException(operation, $"{manifestPath} is empty (null manifest).");
        }
        if (manifest.FormatVersion != ModelManifest.CurrentFormatVersion)
        {
            throw new QwenEngineException(operation,
                $"{manifestPath} has format version {manifest.FormatVersion}; this engine reads version {ModelManifest.CurrentFormatVersion}. Rebuild the package with the matching model-prep.");
        }

        CheckFiles(fullDirectory, manifest, verification, operation);
        return new ModelPackage(fullDirectory, manifest);
    }

    /// <summary>
    /// This package with the long-context switches of <paramref name="options"/> applied to its architecture: the engine
    /// then runs every request with dynamic NTK and/or LogN as asked, whatever the checkpoint's config said.
    /// </summary>
    /// <remarks>Both are host-side inputs of the graph (rotary rows, LogN scale), so the same graph serves every setting.</remarks>
    public ModelPackage WithLongContext(ModelRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var arch = Manifest.Architecture;
        var adjusted = arch with
        {
            UseDynamicNtk = options.DynamicNtk ?? arch.UseDynamicNtk,
            UseLognAttn = options.LognAttention ?? arch.UseLognAttn,
        };
        return adjusted == arch ? this : new ModelPackage(Directory, Manifest with { Architecture = adjusted });
    }

    private static void CheckFiles(string directory, ModelManifest manifest, PackageVerification verification, string operation)
    {
        var required = new[] { ModelFileName, manifest.Tokenizer.File };
        foreach (var name in required)
        {
            if (!manifest.Files.Any(f => string.Equals(f.Path, name, StringComparison.Ordinal)))
            {
                throw new QwenEngineException(operation, $"The manifest of {directory} does not list {name}; the package is incomplete.");
            }
        }

        var stamp = new System.Text.StringBuilder(directory);
        foreach (var file in manifest.Files)
        {
            var path = Path.GetFullPath(Path.Combine(directory, file.Path));
            if (!path.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new QwenEngineException(operation, $"The manifest of {directory} lists '{file.Path}', which is outside the package.");
            }
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new QwenEngineException(operation, $"{path} is listed in the manifest but missing; the package is incomplete. Download or convert it again.");
            }
            if (info.Length != file.Size)
            {
                throw new QwenEngineException(operation, $"{path} has {info.Length:N0} bytes; the manifest says {file.Size:N0}. The package is damaged or incomplete.");
            }
            stamp.Append('|').Append(file.Path).Append(':').Append(info.Length).Append(':').Append(info.LastWriteTimeUtc.Ticks);
        }

        var key = stamp.ToString();
        var hash = verification switch
        {
            PackageVerification.Always => true,
            PackageVerification.FirstLoad => !VerifiedStamps.ContainsKey(key),
            _ => false,
        };
        if (!hash)
        {
            return;
        }
        foreach (var file in manifest.Files)
        {
            var path = Path.Combine(directory, file.Path);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            var actual = Convert.ToHexStringLower(SHA256.HashData(stream));
            if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new QwenEngineException(operation, $"{path} has sha256 {actual}; the manifest says {file.Sha256}. The package is damaged; download or convert it again.");
            }
        }
        VerifiedStamps[key] = true;
    }
}
