using System.Buffers;
using System.Text;

namespace Qwen.Inference.Tokenization;

/// <summary>Incremental UTF-8-safe decoder: holds back an incomplete character until it completes.</summary>
/// <remarks>One instance per stream; not thread-safe. Concatenating every <see cref="Append"/> result and
/// <see cref="Flush"/> gives exactly <see cref="QwenTokenizer.Decode"/> of the same ids.</remarks>
public sealed class QwenStreamDecoder
{
    private readonly QwenTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly ArrayBufferWriter<byte> _pending = new(16);

    internal QwenStreamDecoder(QwenTokenizer tokenizer, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one token; returns the text that is now complete (possibly empty).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in the vocabulary.</exception>
    public string Append(int id)
    {
        if (_tokenizer.IsSpecial(id) && _skipSpecialTokens) return string.Empty;
        _tokenizer.AppendBytes(id, _pending, _skipSpecialTokens);
        var bytes = _pending.WrittenSpan;
        int complete = CompleteLength(bytes);
        if (complete == 0) return string.Empty;
        var text = Encoding.UTF8.GetString(bytes[..complete]);
        var rest = bytes[complete..].ToArray();
        _pending.Clear();
        _pending.Write(rest);
        return text;
    }

    /// <summary>Returns what is held back (incomplete bytes as U+FFFD) and resets.</summary>
    public string Flush()
    {
        var text = Encoding.UTF8.GetString(_pending.WrittenSpan);
        _pending.Clear();
        return text;
    }

    /// <summary>The prefix length that cannot change with more bytes: all but a trailing incomplete-but-valid sequence.</summary>
    private static int CompleteLength(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            var status = Rune.DecodeFromUtf8(bytes[i..], out _, out int consumed);
            if (status == System.Buffers.OperationStatus.NeedMoreData) return i;
            i += consumed;
        }
        return i;
    }
}
