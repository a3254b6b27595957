using Microsoft.ML.Tokenizers;

namespace Qwen.Inference.Tokenization;

/// <summary><see cref="UnicodeNfc"/> as a Microsoft.ML.Tokenizers <see cref="Normalizer"/> (ICU-free NFC).</summary>
public sealed class QwenNfcNormalizer : Normalizer
{
    /// <inheritdoc />
    public override string Normalize(string original) => UnicodeNfc.Normalize(original);

    /// <inheritdoc />
    public override string Normalize(ReadOnlySpan<char> original) => UnicodeNfc.Normalize(original.ToString());
}
