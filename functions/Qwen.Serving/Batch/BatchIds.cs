using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Qwen.Serving.Batch;

/// <summary>Ids of files, batches and batch requests; the patterns keep ids from a URL safe to use in object names.</summary>
public static partial class BatchIds
{
    /// <summary>A new input file id: <c>file-</c> and 24 hex digits.</summary>
    public static string NewFileId() => "file-" + RandomHex();

    /// <summary>A new batch id: <c>batch_</c> and 24 hex digits.</summary>
    public static string NewBatchId() => "batch_" + RandomHex();

    /// <summary>The output file of a batch (fixed per batch, so two finalizing workers name the same file).</summary>
    public static string OutputFileId(string batchId) => "file-" + batchId["batch_".Length..] + "-output";

    /// <summary>The error file of a batch.</summary>
    public static string ErrorFileId(string batchId) => "file-" + batchId["batch_".Length..] + "-errors";

    /// <summary>The id of request <paramref name="index"/> (0-based) of a batch: the same on every retry.</summary>
    public static string RequestId(string batchId, int index) => $"batch_req_{batchId["batch_".Length..]}_{index}";

    /// <summary>True for ids <see cref="NewFileId"/>, <see cref="OutputFileId"/> and <see cref="ErrorFileId"/> make.</summary>
    public static bool IsFileId(string id) => FilePattern().IsMatch(id);

    /// <summary>True for ids <see cref="NewBatchId"/> makes.</summary>
    public static bool IsBatchId(string id) => BatchPattern().IsMatch(id);

    private static string RandomHex()
    {
        Span<byte> bytes = stackalloc byte[12];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    [GeneratedRegex("^file-[0-9a-f]{24}(-output|-errors)?$")]
    private static partial Regex FilePattern();

    [GeneratedRegex("^batch_[0-9a-f]{24}$")]
    private static partial Regex BatchPattern();
}
