using System.Text;
using Microsoft.ML.Tokenizers;

namespace Qwen.Inference.Tokenization;

/// <summary>Bridges <see cref="QwenTokenizer"/> to Microsoft.ML.Tokenizers.</summary>
public static class QwenTokenizerExtensions
{
    /// <summary>
    /// A Microsoft.ML.Tokenizers <see cref="TiktokenTokenizer"/> over the same vocabulary, NFC normalizer and
    /// pre-tokenizer, giving the same ids. Special-token text is plain text unless <paramref name="parseSpecialTokens"/>.
    /// </summary>
    /// <remarks>Use it where a library wants a <see cref="Tokenizer"/>; the engine's own path (<see cref="QwenTokenizer.Encode(string, bool)"/>)
    /// is faster (see the tokenizer throughput test).</remarks>
    public static Tokenizer AsTokenizer(this QwenTokenizer tokenizer, bool parseSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        using var vocabulary = new MemoryStream(3 << 20);
        using (var writer = new StreamWriter(vocabulary, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" })
        {
            for (int id = 0; id < QwenTokenizer.SpecialStartId; id++)
            {
                writer.Write(Convert.ToBase64String(tokenizer.GetRegularBytes(id)));
                writer.Write(' ');
                writer.Write(id);
                writer.Write('\n');
            }
        }
        vocabulary.Position = 0;
        var specials = tokenizer.SpecialTokens;
        return TiktokenTokenizer.Create(
            vocabulary,
            new QwenMlPreTokenizer(parseSpecialTokens ? specials : null),
            new QwenNfcNormalizer(),
            specials.ToDictionary(kv => kv.Key, kv => kv.Value));
    }
}
