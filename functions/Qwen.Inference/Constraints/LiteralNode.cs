namespace Qwen.Inference.Constraints;

/// <summary>Exactly these bytes.</summary>
internal sealed class LiteralNode(byte[] bytes) : MatchNode
{
    public byte[] Bytes { get; } = bytes;

    public override void Enter(Frame? parent, List<Frame> output) => output.Add(new LiteralFrame(this, 0) { Parent = parent });

    private sealed record LiteralFrame(LiteralNode Node, int Position) : Frame
    {
        public override bool CanFinish => Position == Node.Bytes.Length;

        public override void Step(byte b, List<Frame> output)
        {
            if (Position < Node.Bytes.Length && Node.Bytes[Position] == b)
            {
                output.Add(this with { Position = Position + 1 });
            }
        }
    }
}
