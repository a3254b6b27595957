using System.Buffers.Binary;
using System.IO.Compression;

namespace Qwen.Eval.Perplexity;

/// <summary>Evaluation text as token ids: a file of little-endian int32 ids (<c>.ids</c>), optionally gzip (<c>.ids.gz</c>).</summary>
/// <remarks>
/// Token ids rather than text keep the windows exact: every length scores the same tokens on every endpoint, with no
/// tokenizer round trip. tests/data/qwen-tiny-py/heldout.ids.gz is such a file.
/// </remarks>
public static class TokenData
{
    /// <summary>Reads every id of <paramref name="path"/> (gzip when it ends in .gz).</summary>
    /// <exception cref="InvalidDataException">The byte count is not a multiple of 4 or an id is negative.</exception>
    public static async Task<int[]> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var file = File.OpenRead(path);
        await using Stream source = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var buffer = new MemoryStream();
        await source.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (buffer.Length % 4 != 0)
        {
            throw new InvalidDataException($"{path} has {buffer.Length:N0} bytes, not a whole number of int32 token ids.");
        }
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var ids = new int[bytes.Length / 4];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(i * 4, 4));
            if (ids[i] < 0)
            {
                throw new InvalidDataException($"{path} holds a negative token id ({ids[i]}) at index {i:N0}.");
            }
        }
        return ids;
    }

    /// <summary>
    /// <paramref name="count"/> windows of <paramref name="length"/> tokens at evenly spaced offsets: window i starts at
    /// i·(N − length) / count. Shorter lengths use each window's first tokens, so every length scores the same text.
    /// </summary>
    /// <exception cref="ArgumentException">The data is shorter than one window.</exception>
    public static int[][] Windows(IReadOnlyList<int> tokens, int count, int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 2);
        if (tokens.Count < length)
        {
            throw new ArgumentException($"The data has {tokens.Count:N0} tokens; a window needs {length:N0}.", nameof(tokens));
        }
        return Enumerable.Range(0, count)
            .Select(i => tokens.Skip((int)((long)i * (tokens.Count - length) / count)).Take(length).ToArray())
            .ToArray();
    }
}
