namespace Qwen.Inference.Constraints;

/// <summary>
/// The whitespace a constrained JSON value may hold between two tokens: at most <see cref="MaxBytes"/> bytes of space,
/// tab, line feed and carriage return, with at most one line feed and one carriage return. That covers compact JSON
/// and pretty-printing (one line break plus indentation) but leaves no room to stall: a model that keeps choosing
/// whitespace runs out of it and must write the next JSON token. No whitespace before or after the whole value.
/// </summary>
internal static class JsonWhitespace
{
    /// <summary>Most whitespace bytes in one gap.</summary>
    public const int MaxBytes = 24;

    private const int CountMask = 0xFF;
    private const int LineFeed = 0x100;
    private const int CarriageReturn = 0x200;

    /// <summary>The gap's state after <paramref name="b"/>, or −1 when <paramref name="b"/> is not whitespace or the gap is full.</summary>
    /// <param name="gap">0 at the start of a gap.</param>
    /// <param name="b">The next byte.</param>
    public static int Next(int gap, byte b)
    {
        if ((gap & CountMask) >= MaxBytes)
        {
            return -1;
        }
        return b switch
        {
            (byte)' ' or (byte)'\t' => gap + 1,
            (byte)'\n' => (gap & LineFeed) != 0 ? -1 : (gap | LineFeed) + 1,
            (byte)'\r' => (gap & CarriageReturn) != 0 ? -1 : (gap | CarriageReturn) + 1,
            _ => -1,
        };
    }
}
