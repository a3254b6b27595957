namespace Qwen.Inference.Constraints;

/// <summary>Byte-at-a-time UTF-8 validation (RFC 3629: no overlongs, surrogates or values above U+10FFFF), as a value frames carry.</summary>
/// <param name="Pending">Continuation bytes still expected (0 at a character boundary).</param>
/// <param name="Low">Smallest byte allowed next while pending.</param>
/// <param name="High">Largest byte allowed next while pending.</param>
/// <param name="Value">The code point decoded so far.</param>
internal readonly record struct Utf8Decoder(byte Pending, byte Low, byte High, int Value)
{
    /// <summary>At a character boundary.</summary>
    public bool AtBoundary => Pending == 0;

    /// <summary>Starts a character with lead byte <paramref name="b"/>; false for a byte that cannot start one (continuation bytes, C0, C1, F5…FF). ASCII completes at once.</summary>
    public static bool TryStart(byte b, out Utf8Decoder next)
    {
        next = b switch
        {
            < 0x80 => new Utf8Decoder(0, 0, 0, b),
            >= 0xC2 and <= 0xDF => new Utf8Decoder(1, 0x80, 0xBF, b & 0x1F),
            0xE0 => new Utf8Decoder(2, 0xA0, 0xBF, b & 0x0F),
            0xED => new Utf8Decoder(2, 0x80, 0x9F, b & 0x0F),
            >= 0xE1 and <= 0xEF => new Utf8Decoder(2, 0x80, 0xBF, b & 0x0F),
            0xF0 => new Utf8Decoder(3, 0x90, 0xBF, b & 0x07),
            >= 0xF1 and <= 0xF3 => new Utf8Decoder(3, 0x80, 0xBF, b & 0x07),
            0xF4 => new Utf8Decoder(3, 0x80, 0x8F, b & 0x07),
            _ => default,
        };
        return b < 0x80 || next.Pending != 0;
    }

    /// <summary>Adds a continuation byte; false when <paramref name="b"/> is not allowed here.</summary>
    public bool TryContinue(byte b, out Utf8Decoder next)
    {
        if (Pending == 0 || b < Low || b > High)
        {
            next = this;
            return false;
        }
        next = new Utf8Decoder((byte)(Pending - 1), 0x80, 0xBF, (Value << 6) | (b & 0x3F));
        return true;
    }
}
