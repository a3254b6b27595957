using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text;

namespace Qwen.Inference.Tokenization;

/// <summary>Qwen-7B's tiktoken BPE tokenizer (151,643 BPE tokens + 208 specials), exact to the reference (spec §4).</summary>
/// <remarks>
/// Immutable after <see cref="Load(string)"/>; all members are thread-safe (the BPE cache is a concurrent dictionary).
/// Input is normalized to NFC first (<see cref="UnicodeNfc"/>), as the reference does.
/// </remarks>
public sealed class QwenTokenizer
{
    public const int EndOfTextId = 151643;
    public const int ImStartId = 151644;
    public const int ImEndId = 151645;
    public const int SpecialStartId = 151643;
    public const int SpecialCount = 208;
    public const int VocabCount = 151851;

    /// <summary>Surface form of <see cref="EndOfTextId"/>.</summary>
    public const string EndOfText = "<|endoftext|>";
    /// <summary>Surface form of <see cref="ImStartId"/>.</summary>
    public const string ImStart = "<|im_start|>";
    /// <summary>Surface form of <see cref="ImEndId"/>.</summary>
    public const string ImEnd = "<|im_end|>";

    private const int MaxCacheEntries = 100_000;
    private const int MaxCachedPieceChars = 64;

    private readonly TokenRankTable _table;
    private readonly string[] _specialNames;
    private readonly byte[][] _specialBytes;
    private readonly FrozenDictionary<string, int> _specialIds;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;

    private QwenTokenizer(TokenRankTable table)
    {
        _table = table;
        _specialNames = new string[SpecialCount];
        _specialNames[0] = EndOfText;
        _specialNames[1] = ImStart;
        _specialNames[2] = ImEnd;
        for (int i = 3; i < SpecialCount; i++) _specialNames[i] = $"<|extra_{i - 3}|>";
        _specialBytes = _specialNames.Select(Encoding.UTF8.GetBytes).ToArray();
        _specialIds = _specialNames.Select((name, i) => KeyValuePair.Create(name, SpecialStartId + i)).ToFrozenDictionary(StringComparer.Ordinal);
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The 208 special tokens (surface form → id), 151643…151850.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _specialIds;

    internal TokenRankTable RankTable => _table;

    /// <summary>Loads a <c>qwen.tiktoken</c> file (base64 bytes, space, rank; ranks 0…151642 in order).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a complete qwen.tiktoken vocabulary.</exception>
    public static QwenTokenizer Load(string tiktokenPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(tiktokenPath);
        if (!File.Exists(tiktokenPath))
        {
            throw new FileNotFoundException($"tokenizer vocabulary {tiktokenPath} does not exist; point to a qwen.tiktoken file.", tiktokenPath);
        }
        using var stream = File.OpenRead(tiktokenPath);
        try
        {
            return Load(stream);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{tiktokenPath}: {ex.Message}", ex);
        }
    }

    /// <summary>Loads a <c>qwen.tiktoken</c> vocabulary from a stream (read to its end, not disposed).</summary>
    /// <exception cref="InvalidDataException">The content is not a complete qwen.tiktoken vocabulary.</exception>
    public static QwenTokenizer Load(Stream tiktoken)
    {
        ArgumentNullException.ThrowIfNull(tiktoken);
        var bytes = new List<byte>(1 << 20);
        var offsets = new List<int>(SpecialStartId + 1) { 0 };
        using var reader = new StreamReader(tiktoken, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        Span<byte> buffer = stackalloc byte[1024];
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || !int.TryParse(line.AsSpan(space + 1), System.Globalization.NumberStyles.None, null, out int rank))
            {
                throw new InvalidDataException($"line {lineNumber} is not '<base64> <rank>'.");
            }
            if (rank != offsets.Count - 1)
            {
                throw new InvalidDataException($"line {lineNumber} has rank {rank}; expected {offsets.Count - 1} (ranks must be 0,1,2,… in order).");
            }
            if (!Convert.TryFromBase64Chars(line.AsSpan(0, space), buffer, out int written) || written == 0)
            {
                throw new InvalidDataException($"line {lineNumber} has invalid base64 token bytes.");
            }
            bytes.AddRange(buffer[..written]);
            offsets.Add(bytes.Count);
        }
        int count = offsets.Count - 1;
        if (count != SpecialStartId)
        {
            throw new InvalidDataException($"the vocabulary has {count:N0} tokens; Qwen-7B's qwen.tiktoken has {SpecialStartId:N0}.");
        }
        return new QwenTokenizer(new TokenRankTable(bytes.ToArray(), offsets.ToArray()));
    }

    /// <summary>Encodes NFC-normalized text; special-token text is plain text unless <paramref name="parseSpecialTokens"/>.</summary>
    public IReadOnlyList<int> Encode(string text, bool parseSpecialTokens = false)
    {
        var output = new List<int>(text.Length / 3 + 4);
        EncodeTo(text, output, parseSpecialTokens);
        return output;
    }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="output"/> (see <see cref="Encode(string, bool)"/>).</summary>
    public void EncodeTo(string text, List<int> output, bool parseSpecialTokens = false)
        => EncodeTo(text, output, parseSpecialTokens, null);

    /// <summary>
    /// Encodes with tiktoken's <c>allowed_special</c>: only the listed surface forms become special ids; all other
    /// special-token text (and everything when the list is empty) is plain text.
    /// </summary>
    public IReadOnlyList<int> Encode(string text, IReadOnlyCollection<string> allowedSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(allowedSpecialTokens);
        var output = new List<int>(text.Length / 3 + 4);
        EncodeTo(text, output, false, allowedSpecialTokens);
        return output;
    }

    private void EncodeTo(string text, List<int> output, bool all, IReadOnlyCollection<string>? allowed)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        var normalized = UnicodeNfc.Normalize(text);
        if (!all && (allowed is null || allowed.Count == 0))
        {
            EncodeOrdinary(normalized, output);
            return;
        }
        var lookup = _specialIds.GetAlternateLookup<ReadOnlySpan<char>>();
        int segmentStart = 0;
        for (int search = 0; search < normalized.Length;)
        {
            int open = normalized.IndexOf("<|", search, StringComparison.Ordinal);
            if (open < 0) break;
            int close = normalized.IndexOf("|>", open + 2, StringComparison.Ordinal);
            if (close < 0) break;
            var candidate = normalized.AsSpan(open, close + 2 - open);
            if (lookup.TryGetValue(candidate, out int id) && (all || allowed!.Contains(candidate.ToString())))
            {
                EncodeOrdinary(normalized.AsSpan(segmentStart, open - segmentStart), output);
                output.Add(id);
                segmentStart = search = close + 2;
            }
            else
            {
                search = open + 1;
            }
        }
        EncodeOrdinary(normalized.AsSpan(segmentStart), output);
    }

    /// <summary>The number of tokens <paramref name="text"/> encodes to, as plain text.</summary>
    public int CountTokens(string text) => Encode(text).Count;

    private void EncodeOrdinary(ReadOnlySpan<char> text, List<int> output)
    {
        byte[]? rented = null;
        Span<byte> buffer = stackalloc byte[512];
        try
        {
            for (int pos = 0; pos < text.Length;)
            {
                int len = QwenPreTokenizer.NextPieceLength(text, pos);
                var piece = text.Slice(pos, len);
                pos += len;
                int maxBytes = len * 3;
                if (maxBytes > buffer.Length)
                {
                    if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
                    rented = ArrayPool<byte>.Shared.Rent(maxBytes);
                    buffer = rented;
                }
                // Lone surrogates become U+FFFD here (there is no UTF-8 for them).
                int n = Encoding.UTF8.GetBytes(piece, buffer);
                var utf8 = buffer[..n];
                int whole = _table.GetRank(utf8);
                if (whole >= 0)
                {
                    output.Add(whole);
                    continue;
                }
                EncodePiece(piece, utf8, output);
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void EncodePiece(ReadOnlySpan<char> piece, ReadOnlySpan<byte> utf8, List<int> output)
    {
        if (piece.Length > MaxCachedPieceChars)
        {
            BytePairEncoder.Encode(_table, utf8, output);
            return;
        }
        if (_cacheLookup.TryGetValue(piece, out var cached))
        {
            output.AddRange(cached);
            return;
        }
        int start = output.Count;
        BytePairEncoder.Encode(_table, utf8, output);
        if (_cache.Count >= MaxCacheEntries) _cache.Clear();
        _cacheLookup.TryAdd(piece, output.GetRange(start, output.Count - start).ToArray());
    }

    /// <summary>Decodes ids to text; invalid or incomplete UTF-8 becomes U+FFFD; specials decode to their surface form.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in 0…151850.</exception>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var buffer = new ArrayBufferWriter<byte>(256);
        foreach (var id in ids) AppendBytes(id, buffer, skipSpecialTokens);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    internal void AppendBytes(int id, IBufferWriter<byte> writer, bool skipSpecialTokens)
    {
        if (IsSpecial(id))
        {
            if (!skipSpecialTokens) writer.Write(_specialBytes[id - SpecialStartId]);
            return;
        }
        writer.Write(GetRegularBytes(id));
    }

    internal ReadOnlySpan<byte> GetRegularBytes(int id)
    {
        if ((uint)id >= (uint)_table.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} is outside the vocabulary (0…{VocabCount - 1}).");
        }
        return _table.GetBytes(id);
    }

    /// <summary>The raw bytes of a token (a special's are its UTF-8 surface form).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in 0…151850.</exception>
    public byte[] GetTokenBytes(int id) => IsSpecial(id) ? (byte[])_specialBytes[id - SpecialStartId].Clone() : GetRegularBytes(id).ToArray();

    /// <summary>The id of a token's exact bytes, or -1 (ordinary tokens only).</summary>
    public int GetTokenId(ReadOnlySpan<byte> bytes) => _table.GetRank(bytes);

    /// <summary>The surface form of a special id (e.g. <c>&lt;|im_end|&gt;</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not a special.</exception>
    public string GetSpecialTokenName(int id) => IsSpecial(id)
        ? _specialNames[id - SpecialStartId]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} is not a special token ({SpecialStartId}…{SpecialStartId + SpecialCount - 1}).");

    public bool IsSpecial(int id) => id >= SpecialStartId && id < SpecialStartId + SpecialCount;

    /// <summary>A per-stream incremental decoder (not thread-safe; one per generation).</summary>
    public QwenStreamDecoder CreateStreamDecoder(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);
}
