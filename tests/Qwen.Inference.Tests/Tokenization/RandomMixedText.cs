using System.Text;

namespace Qwen.Inference.Tests.Tokenization;

/// <summary>Seeded random mixed-script strings that stress pre-tokenization, BPE and NFC.</summary>
internal static class RandomMixedText
{
    private static readonly string[] Words = ["the", "The", "Panda", "ing", "'s", "'LL", "'re", "don't", "you", "it's", "ſ", "Ǆ"];
    private static readonly string[] Whitespace = [" ", "  ", "\n", "\r\n", "\n\n", "\t", "\u3000", "\u00A0", "\u2003", "\u000B", "\u0085", " \n ", "   "];

    /// <param name="random">The seeded source.</param>
    /// <param name="includeJsWhitespaceDifferences">U+0085 and U+FEFF are whitespace to JS regex the other way round
    /// from Rust; exclude them when comparing with a JavaScript tokenizer (spec §9.4).</param>
    public static string Next(Random random, bool includeJsWhitespaceDifferences = true)
    {
        var sb = new StringBuilder();
        int pieces = random.Next(1, 12);
        for (int i = 0; i < pieces; i++)
        {
            int n = random.Next(1, 6);
            switch (random.Next(14))
            {
                case 0: for (int j = 0; j < n; j++) sb.Append((char)random.Next('a', 'z' + 1)); break;
                case 1: for (int j = 0; j < n; j++) sb.Append((char)random.Next('A', 'Z' + 1)); break;
                case 2: sb.Append(Words[random.Next(Words.Length)]); break;
                case 3: for (int j = 0; j < n; j++) sb.Append((char)random.Next(0x4E00, 0x9FA6)); break;
                case 4: for (int j = 0; j < n; j++) sb.Append(char.ConvertFromUtf32(random.Next(0x20000, 0x2A6DF))); break;
                case 5:
                    for (int j = 0; j < n; j++) sb.Append(char.ConvertFromUtf32(random.Next(0x1F600, 0x1F650)));
                    if (random.Next(3) == 0) sb.Append("\u200D\u2764\uFE0F");
                    break;
                case 6: for (int j = 0; j < n; j++) sb.Append((char)random.Next(0x0627, 0x064B)); break;
                case 7:
                    for (int j = 0; j < n; j++)
                    {
                        sb.Append((char)random.Next(0x0905, 0x093A));
                        if (random.Next(2) == 0) sb.Append((char)random.Next(0x093E, 0x094D));
                    }
                    break;
                case 8:
                    // Digits: ASCII, Arabic-Indic, Devanagari, fullwidth, math bold (astral Nd), superscripts (No).
                    for (int j = 0; j < n; j++)
                    {
                        sb.Append(random.Next(6) switch
                        {
                            0 => ((char)random.Next('0', '9' + 1)).ToString(),
                            1 => ((char)random.Next(0x0660, 0x066A)).ToString(),
                            2 => ((char)random.Next(0x0966, 0x0970)).ToString(),
                            3 => ((char)random.Next(0xFF10, 0xFF1A)).ToString(),
                            4 => char.ConvertFromUtf32(random.Next(0x1D7CE, 0x1D800)),
                            _ => "\u00B2",
                        });
                    }
                    break;
                case 9:
                    var ws = Whitespace[random.Next(Whitespace.Length)];
                    if (!includeJsWhitespaceDifferences && ws == "\u0085") ws = " ";
                    sb.Append(ws);
                    break;
                case 10: for (int j = 0; j < n; j++) sb.Append("!\"#$%&()*+,-./:;=?@[\\]^_`{|}~，。！？「」"[random.Next(28)]); break;
                case 11:
                    // Base letters with combining marks (composable and not), decomposed Hangul.
                    sb.Append("aeouAEOnc"[random.Next(9)]);
                    for (int j = 0; j < random.Next(1, 3); j++) sb.Append((char)random.Next(0x0300, 0x0370));
                    if (random.Next(2) == 0) sb.Append("\u1112\u1161\u11AB");
                    break;
                case 12: for (int j = 0; j < n; j++) sb.Append((char)random.Next(0xAC00, 0xD7A4)); break;
                default:
                    sb.Append(random.Next(5) switch
                    {
                        0 => "'",
                        1 => "\u212B",       // singleton decomposition
                        2 => "\uF900",       // CJK compatibility ideograph
                        3 => includeJsWhitespaceDifferences ? "\uFEFF" : "\u200B",
                        _ => "é",
                    });
                    break;
            }
        }
        return sb.ToString();
    }
}
