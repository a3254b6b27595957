namespace Qwen.Inference.Constraints;

/// <summary>A JSON number (RFC 8259 §6): <c>-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?</c>; integers only when <see cref="IntegerOnly"/>.</summary>
internal sealed class JsonNumberNode(bool integerOnly) : MatchNode
{
    public static JsonNumberNode Number { get; } = new(false);

    public static JsonNumberNode Integer { get; } = new(true);

    public bool IntegerOnly { get; } = integerOnly;

    public override void Enter(Frame? parent, List<Frame> output) => output.Add(new NumberFrame(this, Phase.Start) { Parent = parent });

    private enum Phase : byte
    {
        Start,
        Minus,
        Zero,
        Integer,
        Dot,
        Fraction,
        Exponent,
        ExponentSign,
        ExponentDigits,
    }

    private sealed record NumberFrame(JsonNumberNode Node, Phase Phase) : Frame
    {
        public override bool CanFinish => Phase is Phase.Zero or Phase.Integer or Phase.Fraction or Phase.ExponentDigits;

        public override void Step(byte b, List<Frame> output)
        {
            var digit = b is >= (byte)'0' and <= (byte)'9';
            var next = (Phase, b) switch
            {
                (Phase.Start, (byte)'-') => Phase.Minus,
                (Phase.Start or Phase.Minus, (byte)'0') => Phase.Zero,
                (Phase.Start or Phase.Minus, _) when digit => Phase.Integer,
                (Phase.Integer, _) when digit => Phase.Integer,
                (Phase.Zero or Phase.Integer, (byte)'.') when !Node.IntegerOnly => Phase.Dot,
                (Phase.Dot or Phase.Fraction, _) when digit => Phase.Fraction,
                (Phase.Zero or Phase.Integer or Phase.Fraction, (byte)'e' or (byte)'E') when !Node.IntegerOnly => Phase.Exponent,
                (Phase.Exponent, (byte)'+' or (byte)'-') => Phase.ExponentSign,
                (Phase.Exponent or Phase.ExponentSign or Phase.ExponentDigits, _) when digit => Phase.ExponentDigits,
                _ => Phase.Start,
            };
            if (next != Phase.Start)
            {
                output.Add(this with { Phase = next });
            }
        }
    }
}
