using Microsoft.ML.Tokenizers;

namespace Qwen.Inference.Tokenization;

/// <summary>
/// <see cref="QwenPreTokenizer"/> as a Microsoft.ML.Tokenizers <see cref="PreTokenizer"/>; when special tokens are
/// given, their surface forms become pieces of their own (so the tokenizer maps them to their ids).
/// </summary>
public sealed class QwenMlPreTokenizer : PreTokenizer
{
    private readonly IReadOnlyDictionary<string, int>? _specialTokens;

    /// <summary>Creates the pre-tokenizer; <paramref name="specialTokens"/> null keeps special-token text as plain text.</summary>
    public QwenMlPreTokenizer(IReadOnlyDictionary<string, int>? specialTokens = null) => _specialTokens = specialTokens;

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
        => string.IsNullOrEmpty(text) ? [] : Split(text.AsMemory());

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
        => text.IsEmpty ? [] : Split(text.ToString().AsMemory());

    private IEnumerable<(int Offset, int Length)> Split(ReadOnlyMemory<char> text)
    {
        int segment = 0;
        if (_specialTokens is not null)
        {
            for (int search = 0; search < text.Length;)
            {
                int open = text.Span[search..].IndexOf("<|", StringComparison.Ordinal);
                if (open < 0) break;
                open += search;
                int close = text.Span[(open + 2)..].IndexOf("|>", StringComparison.Ordinal);
                if (close < 0) break;
                close += open + 2;
                var candidate = text.Span[open..(close + 2)].ToString();
                if (_specialTokens.ContainsKey(candidate))
                {
                    foreach (var piece in SplitOrdinary(text, segment, open)) yield return piece;
                    yield return (open, candidate.Length);
                    segment = search = close + 2;
                }
                else
                {
                    search = open + 1;
                }
            }
        }
        foreach (var piece in SplitOrdinary(text, segment, text.Length)) yield return piece;
    }

    private static IEnumerable<(int Offset, int Length)> SplitOrdinary(ReadOnlyMemory<char> text, int start, int end)
    {
        for (int pos = start; pos < end;)
        {
            int len = QwenPreTokenizer.NextPieceLength(text.Span[..end], pos);
            yield return (pos, len);
            pos += len;
        }
    }
}
