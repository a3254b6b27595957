using System.IO.Compression;
using System.Security.Cryptography;
using Qwen.ModelPrep.Conversion;

namespace Qwen.Testing;

/// <summary>
/// qwen-tiny-py, a small trained checkpoint of the original Qwen architecture (tests/data/qwen-tiny-py, README there),
/// unpacked on first use into artifacts/test-models and converted to packages like the seeded test models.
/// </summary>
/// <remarks>
/// Trained weights make quality measurable where random weights cannot (quantization accuracy, perplexity, long context):
/// seq_length 128, dynamic NTK and LogN on, the real 151,936-row vocabulary. The committed file is gzip; the unpacked
/// model.safetensors is checked against its sha256 before it is used. Safe across parallel test processes.
/// </remarks>
public static class TrainedModel
{
    /// <summary>sha256 of the unpacked model.safetensors (BF16, 158,211,648 bytes).</summary>
    public const string SafetensorsSha256 = "d010ee0ed40ca2a6c0f1d6598750bca202c9c3a1354c3fb4aacbc1cb75c7e797";

    /// <summary>Training length of the checkpoint (config seq_length).</summary>
    public const int SeqLength = 128;

    private static readonly Lazy<int[]> HeldOutTokens = new(ReadHeldOut);

    /// <summary>tests/data/qwen-tiny-py: the committed model.safetensors.gz, config.json and heldout.ids.gz.</summary>
    public static string DataDirectory => Path.Combine(RepoPaths.Root, "tests", "data", "qwen-tiny-py");

    /// <summary>The held-out token ids (files never seen in training; documents separated by &lt;|endoftext|&gt;).</summary>
    public static IReadOnlyList<int> HeldOut => HeldOutTokens.Value;

    /// <summary>Path of the committed held-out ids (gzip of little-endian int32).</summary>
    public static string HeldOutPath => Path.Combine(DataDirectory, "heldout.ids.gz");

    /// <summary>The checkpoint directory (config.json, model.safetensors, qwen.tiktoken), unpacked and verified on first use.</summary>
    public static Task<string> GetCheckpointAsync(CancellationToken cancellationToken = default)
    {
        var tokenizer = RepoPaths.Tiktoken; // fails with "run ./eng/bootstrap.sh" when missing
        return TestModels.GetOrCreateAsync(Path.Combine(TestModels.Root, "qwen-tiny-py"), CheckpointStamp, async (output, ct) =>
        {
            Directory.CreateDirectory(output);
            var target = Path.Combine(output, "model.safetensors");
            await using (var source = File.OpenRead(Path.Combine(DataDirectory, "model.safetensors.gz")))
            await using (var gzip = new GZipStream(source, CompressionMode.Decompress))
            await using (var file = File.Create(target))
            {
                await gzip.CopyToAsync(file, ct);
            }
            await using (var check = File.OpenRead(target))
            {
                var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(check, ct));
                if (actual != SafetensorsSha256)
                {
                    throw new InvalidDataException($"{target} unpacked from tests/data/qwen-tiny-py has sha256 {actual}; expected {SafetensorsSha256}. The committed file is damaged.");
                }
            }
            File.Copy(Path.Combine(DataDirectory, "config.json"), Path.Combine(output, "config.json"));
            File.Copy(tokenizer, Path.Combine(output, PackageConverter.TokenizerFile));
        }, cancellationToken);
    }

    /// <summary>A package of the checkpoint in <paramref name="dtype"/> with the converter's defaults, cached under artifacts/test-models/packages.</summary>
    public static Task<string> GetPackageAsync(ModelDtype dtype, CancellationToken cancellationToken = default) =>
        GetPackageAsync(dtype, null, null, cancellationToken);

    /// <summary>An int4 package with another block size or lm_head width than the converter's defaults (quantization comparisons).</summary>
    public static Task<string> GetPackageAsync(ModelDtype dtype, int? blockSize, int? lmHeadBits, CancellationToken cancellationToken = default) =>
        GetPackageAsync(dtype, blockSize, lmHeadBits, null, cancellationToken);

    /// <summary>A package with another block size, lm_head width or KV cache type (<c>--kv-dtype</c>) than the converter's defaults.</summary>
    public static async Task<string> GetPackageAsync(ModelDtype dtype, int? blockSize, int? lmHeadBits, KvCacheDtype? kvDtype, CancellationToken cancellationToken = default)
    {
        var checkpoint = await GetCheckpointAsync(cancellationToken);
        var defaults = new ConvertOptions { Input = "", Output = "" };
        var block = blockSize ?? defaults.BlockSize;
        var lmHead = lmHeadBits ?? defaults.LmHeadBits;
        var name = $"qwen-tiny-py-{dtype.ToString().ToLowerInvariant()}";
        if (blockSize is not null || lmHeadBits is not null)
        {
            name += $"-b{block}-lm{lmHead}";
        }
        if (kvDtype is not null)
        {
            name += $"-kv{kvDtype.Value.ToString().ToLowerInvariant()}";
        }
        return await TestModels.GetOrCreateAsync(Path.Combine(TestModels.Root, "packages", name),
            $"package {TestPackages.ConverterVersion}; from {CheckpointStamp}",
            (output, ct) => PackageConverter.ForSafetensors().ConvertAsync(new ConvertOptions
            {
                Input = checkpoint,
                Output = output,
                Dtype = dtype,
                BlockSize = block,
                LmHeadBits = lmHead,
                KvDtype = kvDtype,
                Name = "qwen-tiny-py",
            }, null, ct), cancellationToken);
    }

    /// <summary>
    /// <paramref name="count"/> windows of <paramref name="length"/> held-out tokens at evenly spaced offsets (the same
    /// rule as <c>eval perplexity</c>: offset i = i·(N − length) / count).
    /// </summary>
    public static int[][] Windows(int count, int length)
    {
        var tokens = HeldOutTokens.Value;
        return Enumerable.Range(0, count)
            .Select(i => tokens.AsSpan((int)((long)i * (tokens.Length - length) / count), length).ToArray())
            .ToArray();
    }

    private static string CheckpointStamp => $"trained qwen-tiny-py; sha256 {SafetensorsSha256}";

    private static int[] ReadHeldOut()
    {
        using var source = File.OpenRead(HeldOutPath);
        using var gzip = new GZipStream(source, CompressionMode.Decompress);
        using var buffer = new MemoryStream();
        gzip.CopyTo(buffer);
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var ids = new int[bytes.Length / 4];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(i * 4, 4));
        }
        return ids;
    }
}
