using System.Collections.Concurrent;
using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Conversion;

namespace Qwen.Testing;

/// <summary>Seeded tiny checkpoints (and packages converted from them), made once per machine under artifacts/test-models.</summary>
/// <remarks>
/// Each model is built in a temporary directory and renamed into place under a file lock, with a stamp file that
/// records how it was made; a directory whose stamp matches is reused, anything else is rebuilt. This is safe
/// across parallel test processes and across test classes in one process. The tiny checkpoints use the real
/// vocabulary (151936 rows), hidden 256, 2 heads × 128, 2 layers and seq_length 64, so prompts longer than 64
/// tokens exercise dynamic NTK and LogN.
/// </remarks>
public static class TestModels
{
    /// <summary>Seed of the shared checkpoints.</summary>
    public const ulong Seed = 20230803;

    private const string StampFile = ".test-model-stamp";
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    /// <summary>artifacts/test-models of this repository.</summary>
    public static string Root => Path.Combine(RepoPaths.Artifacts, "test-models");

    /// <summary>Directory of a shared checkpoint, created on first use.</summary>
    public static Task<string> GetCheckpointAsync(TestCheckpoint checkpoint, CancellationToken cancellationToken = default)
        => checkpoint switch
        {
            TestCheckpoint.TinyV10Sharded => GetCheckpointAsync("tiny-v1.0-2shards", CheckpointPreset.Tiny, "v1.0", 2, Seed, cancellationToken),
            TestCheckpoint.TinyV11 => GetCheckpointAsync("tiny-v1.1", CheckpointPreset.Tiny, "v1.1", 1, Seed, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(checkpoint)),
        };

    /// <summary>A checkpoint made by <see cref="CheckpointGenerator"/> (with the real qwen.tiktoken), cached under <paramref name="name"/>.</summary>
    public static Task<string> GetCheckpointAsync(string name, CheckpointPreset preset, string style, int shards, ulong seed, CancellationToken cancellationToken = default)
    {
        var stamp = CheckpointStamp(preset, style, shards, seed);
        var tokenizer = RepoPaths.Tiktoken; // fails with "run ./eng/bootstrap.sh" when missing
        return GetOrCreateAsync(Path.Combine(Root, name), stamp, (output, ct) => CheckpointGenerator.WriteAsync(new CheckpointGeneratorOptions
        {
            Preset = preset,
            Seed = seed,
            Style = style,
            Shards = shards,
            OutputDirectory = output,
            TokenizerPath = tokenizer,
        }, null, ct), cancellationToken);
    }

    /// <summary>
    /// A package converted from a shared checkpoint, cached under artifacts/test-models/packages/<paramref name="name"/>.
    /// </summary>
    /// <param name="name">Unique name of this package variant (for example <c>tiny-v1.1-fp32</c>).</param>
    /// <param name="checkpoint">The checkpoint to convert.</param>
    /// <param name="version">Bump when the converter's output changes, so stale cached packages are rebuilt.</param>
    /// <param name="convert">(checkpoint directory, output directory) → writes the package into the output directory (which does not exist yet).</param>
    /// <param name="cancellationToken">Cancels waiting and building.</param>
    public static async Task<string> GetPackageAsync(string name, TestCheckpoint checkpoint, string version,
        Func<string, string, Task> convert, CancellationToken cancellationToken = default)
    {
        var checkpointDir = await GetCheckpointAsync(checkpoint, cancellationToken);
        var stamp = $"package {version}; from {await File.ReadAllTextAsync(Path.Combine(checkpointDir, StampFile), cancellationToken)}";
        return await GetOrCreateAsync(Path.Combine(Root, "packages", name), stamp, (output, _) => convert(checkpointDir, output), cancellationToken);
    }

    /// <summary>
    /// A package converted in process by <see cref="PackageConverter"/> from a shared tiny checkpoint, cached as
    /// artifacts/test-models/packages/tiny-&lt;style&gt;-&lt;dtype&gt;. It is rebuilt whenever the model-prep assembly changes.
    /// </summary>
    public static Task<string> GetTinyPackageAsync(TestCheckpoint checkpoint, ModelDtype dtype, CancellationToken cancellationToken = default)
    {
        var name = $"{(checkpoint == TestCheckpoint.TinyV11 ? "tiny-v1.1" : "tiny-v1.0-2shards")}-{dtype.ToString().ToLowerInvariant()}";
        var converterVersion = typeof(PackageConverter).Assembly.ManifestModule.ModuleVersionId.ToString("N");
        return GetPackageAsync(name, checkpoint, $"model-prep {converterVersion}", (input, output) =>
            PackageConverter.ForSafetensors().ConvertAsync(new ConvertOptions
            {
                Input = input,
                Output = output,
                Dtype = dtype,
                Name = "qwen-tiny",
            }, null, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Returns <paramref name="directory"/> when its stamp equals <paramref name="stamp"/>; otherwise builds it with
    /// <paramref name="create"/> (given a fresh output path that does not exist yet) and renames it into place, under a file lock.
    /// </summary>
    public static async Task<string> GetOrCreateAsync(string directory, string stamp, Func<string, CancellationToken, Task> create,
        CancellationToken cancellationToken = default)
    {
        directory = Path.GetFullPath(directory);
        if (IsComplete(directory, stamp))
        {
            return directory;
        }
        var gate = Gates.GetOrAdd(directory, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            var parent = Path.GetDirectoryName(directory)!;
            Directory.CreateDirectory(parent);
            await using var fileLock = await AcquireLockAsync(Path.Combine(parent, $".{Path.GetFileName(directory)}.lock"), cancellationToken);
            if (IsComplete(directory, stamp))
            {
                return directory;
            }
            var build = Path.Combine(parent, $".{Path.GetFileName(directory)}.build-{Guid.NewGuid():N}");
            try
            {
                await create(build, cancellationToken);
                if (!Directory.Exists(build))
                {
                    throw new InvalidOperationException($"building test model {directory} produced nothing at {build}");
                }
                await File.WriteAllTextAsync(Path.Combine(build, StampFile), stamp, cancellationToken);
                if (Directory.Exists(directory))
                {
                    // Stale: move it aside first; processes that still have its files open keep reading them (Unix semantics).
                    var stale = Path.Combine(parent, $".{Path.GetFileName(directory)}.stale-{Guid.NewGuid():N}");
                    Directory.Move(directory, stale);
                    TryDelete(stale);
                }
                Directory.Move(build, directory);
            }
            finally
            {
                TryDelete(build);
            }
            return directory;
        }
        finally
        {
            gate.Release();
        }
    }

    private static string CheckpointStamp(CheckpointPreset preset, string style, int shards, ulong seed)
        => $"checkpoint generator {CheckpointGenerator.Version}; {preset}; style {style}; shards {shards}; seed {seed}";

    private static bool IsComplete(string directory, string stamp)
    {
        var path = Path.Combine(directory, StampFile);
        try
        {
            return File.Exists(path) && File.ReadAllText(path) == stamp;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<FileStream> AcquireLockAsync(string path, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(15);
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive advisory lock (flock on Unix) held until the stream is disposed.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort; hidden leftovers are ignored by everything.
        }
    }
}
