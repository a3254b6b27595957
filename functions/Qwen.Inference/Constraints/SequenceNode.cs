namespace Qwen.Inference.Constraints;

/// <summary>Parts one after another.</summary>
internal sealed class SequenceNode(MatchNode[] parts) : MatchNode
{
    public MatchNode[] Parts { get; } = parts;

    public override void Enter(Frame? parent, List<Frame> output) => EnterPart(0, parent, output);

    private void EnterPart(int index, Frame? parent, List<Frame> output)
    {
        if (Parts.Length == 0)
        {
            output.Add(new EmptyFrame { Parent = parent });
            return;
        }
        // The last part continues straight into the sequence's parent: no frame of its own to pop.
        Parts[index].Enter(index + 1 < Parts.Length ? new NextPartFrame(this, index + 1) { Parent = parent } : parent, output);
    }

    /// <summary>Waits for part <see cref="Next"/> − 1 to finish, then enters part <see cref="Next"/>.</summary>
    private sealed record NextPartFrame(SequenceNode Node, int Next) : Frame
    {
        public override bool CanFinish => false;

        public override void Step(byte b, List<Frame> output)
        {
        }

        public override void Resume(List<Frame> output) => Node.EnterPart(Next, Parent, output);
    }

    /// <summary>The empty sequence: done at once.</summary>
    private sealed record EmptyFrame : Frame
    {
        public override bool CanFinish => true;

        public override void Step(byte b, List<Frame> output)
        {
        }
    }
}
