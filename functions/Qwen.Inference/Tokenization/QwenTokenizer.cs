namespace Qwen.Inference.Tokenization;

// PLACEHOLDER: the API shape other parts code against; the tokenizer work replaces the bodies.
/// <summary>Qwen-7B's tiktoken BPE tokenizer (151,643 BPE tokens + 208 specials). Thread-safe.</summary>
public sealed class QwenTokenizer
{
    public const int EndOfTextId = 151643;
    public const int ImStartId = 151644;
    public const int ImEndId = 151645;
    public const int SpecialStartId = 151643;
    public const int SpecialCount = 208;
    public const int VocabCount = 151851;

    public static QwenTokenizer Load(string tiktokenPath) => throw new NotImplementedException();
    public static QwenTokenizer Load(Stream tiktoken) => throw new NotImplementedException();

    /// <summary>Encodes NFC-normalized text; special-token text is plain text unless <paramref name="parseSpecialTokens"/>.</summary>
    public IReadOnlyList<int> Encode(string text, bool parseSpecialTokens = false) => throw new NotImplementedException();
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false) => throw new NotImplementedException();
    public byte[] GetTokenBytes(int id) => throw new NotImplementedException();
    public bool IsSpecial(int id) => id >= SpecialStartId && id < SpecialStartId + SpecialCount;
    public QwenStreamDecoder CreateStreamDecoder(bool skipSpecialTokens = false) => throw new NotImplementedException();
}

/// <summary>Incremental UTF-8-safe decoder: holds back an incomplete character until it completes.</summary>
public sealed class QwenStreamDecoder
{
    /// <summary>Adds one token; returns the text that is now complete (possibly empty).</summary>
    public string Append(int id) => throw new NotImplementedException();
    /// <summary>Returns what is held back (incomplete bytes as U+FFFD).</summary>
    public string Flush() => throw new NotImplementedException();
}
