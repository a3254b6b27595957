using System.Text;
using Qwen.Inference.Tokenization;

namespace Qwen.Eval.Tools;

/// <summary>
/// Rouge-L F-measure as the seed's evaluator computes it: both strings tokenized with the Qwen tokenizer, each token's
/// bytes decoded as UTF-8 (errors replaced) and joined by spaces, then <c>rouge_score</c> Rouge-L over a whitespace split.
/// </summary>
public static class RougeL
{
    /// <summary>F-measure of <paramref name="prediction"/> against <paramref name="reference"/>; 0 when either is empty.</summary>
    public static double Score(QwenTokenizer tokenizer, string prediction, string reference) =>
        FMeasure(Words(tokenizer, prediction), Words(tokenizer, reference));

    /// <summary>Rouge-L F-measure of two token lists: LCS / length for precision and recall, harmonic mean.</summary>
    public static double FMeasure(IReadOnlyList<string> prediction, IReadOnlyList<string> reference)
    {
        if (prediction.Count == 0 || reference.Count == 0)
        {
            return 0;
        }
        var lcs = LongestCommonSubsequence(prediction, reference);
        if (lcs == 0)
        {
            return 0;
        }
        var precision = (double)lcs / prediction.Count;
        var recall = (double)lcs / reference.Count;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>The whitespace-split words of the space-joined Qwen tokens of <paramref name="text"/>.</summary>
    public static string[] Words(QwenTokenizer tokenizer, string text)
    {
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
        var joined = string.Join(' ', tokenizer.Encode(text).Select(id => utf8.GetString(tokenizer.GetTokenBytes(id))));
        return joined.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
    }

    private static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var previous = new int[b.Count + 1];
        var current = new int[b.Count + 1];
        for (var i = 1; i <= a.Count; i++)
        {
            for (var j = 1; j <= b.Count; j++)
            {
                current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : Math.Max(previous[j], current[j - 1]);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Count];
    }
}
