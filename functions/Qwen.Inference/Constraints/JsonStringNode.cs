namespace Qwen.Inference.Constraints;

/// <summary>
/// A JSON string (RFC 8259 §7) of <see cref="MinChars"/>…<see cref="MaxChars"/> characters: raw UTF-8 validated byte by
/// byte, the two-character escapes and <c>\uXXXX</c>. An escape counts as one character; <c>\u</c> escapes of surrogates
/// (D800–DFFF) are refused, so every escape is exactly one Unicode scalar value and lengths count like JSON Schema's
/// (a character outside the BMP is written raw).
/// </summary>
internal sealed class JsonStringNode(int minChars, int maxChars) : MatchNode
{
    /// <summary>Any JSON string.</summary>
    public static JsonStringNode Free { get; } = new(0, int.MaxValue);

    public int MinChars { get; } = minChars;

    public int MaxChars { get; } = maxChars;

    public override void Enter(Frame? parent, List<Frame> output) => output.Add(new StringFrame(this, Phase.Open, 0, default, 0) { Parent = parent });

    private enum Phase : byte
    {
        Open,
        Body,
        Escape,
        Hex,
        Done,
    }

    /// <summary>Where the string stands; in <see cref="Phase.Hex"/>, <c>Hex</c> is the hex digits read so far plus 8 when the first was <c>d</c> (the next must be 0–7).</summary>
    private sealed record StringFrame(JsonStringNode Node, Phase Phase, int Count, Utf8Decoder Utf8, int Hex) : Frame
    {
        public override bool CanFinish => Phase == Phase.Done;

        public override void Step(byte b, List<Frame> output)
        {
            switch (Phase)
            {
                case Phase.Open:
                    if (b == '"')
                    {
                        output.Add(this with { Phase = Phase.Body });
                    }
                    break;
                case Phase.Body:
                    StepBody(b, output);
                    break;
                case Phase.Escape:
                    if (b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t')
                    {
                        output.Add(this with { Phase = Phase.Body, Count = Count + 1 });
                    }
                    else if (b == 'u')
                    {
                        output.Add(this with { Phase = Phase.Hex, Hex = 0 });
                    }
                    break;
                case Phase.Hex:
                    StepHex(b, output);
                    break;
            }
        }

        private void StepBody(byte b, List<Frame> output)
        {
            if (!Utf8.AtBoundary)
            {
                if (Utf8.TryContinue(b, out var next))
                {
                    output.Add(next.AtBoundary ? this with { Utf8 = default, Count = Count + 1 } : this with { Utf8 = next });
                }
                return;
            }
            if (b == '"')
            {
                if (Count >= Node.MinChars)
                {
                    output.Add(this with { Phase = Phase.Done });
                }
                return;
            }
            if (b < 0x20 || Count >= Node.MaxChars)
            {
                return;
            }
            if (b == '\\')
            {
                output.Add(this with { Phase = Phase.Escape });
            }
            else if (Utf8Decoder.TryStart(b, out var started))
            {
                output.Add(started.AtBoundary ? this with { Count = Count + 1 } : this with { Utf8 = started });
            }
        }

        private void StepHex(byte b, List<Frame> output)
        {
            var digits = Hex & 7;
            var value = HexValue(b);
            if (value < 0 || (digits == 1 && (Hex & 8) != 0 && value > 7))
            {
                return;
            }
            if (digits == 3)
            {
                output.Add(this with { Phase = Phase.Body, Hex = 0, Count = Count + 1 });
            }
            else
            {
                output.Add(this with { Hex = (digits + 1) | (digits == 0 && value == 0xD ? 8 : Hex & 8) });
            }
        }

        private static int HexValue(byte b) => b switch
        {
            >= (byte)'0' and <= (byte)'9' => b - '0',
            >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
            >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
            _ => -1,
        };

        public override bool TryGetPlainRun(VocabularyIndex index, out PlainTokenSet plain, out int remaining)
        {
            plain = index.JsonStringTokens;
            remaining = Node.MaxChars - Count;
            return Phase == Phase.Body && Utf8.AtBoundary;
        }
    }
}
