namespace Qwen.Inference.Constraints;

/// <summary>
/// Any one of several byte strings (an <c>enum</c>, a choice of tool names), matched through a prefix tree in one frame:
/// a long list of alternatives costs one stack instead of one per alternative.
/// </summary>
internal sealed class LiteralSetNode : MatchNode
{
    // Node n's children: _children[n] (byte → node); _terminal[n]: some alternative ends at n. Root 0.
    private readonly List<Dictionary<byte, int>> _children = [new()];
    private readonly List<bool> _terminal = [false];

    public LiteralSetNode(IEnumerable<byte[]> alternatives)
    {
        foreach (var bytes in alternatives)
        {
            var node = 0;
            foreach (var b in bytes)
            {
                if (!_children[node].TryGetValue(b, out var child))
                {
                    child = _children.Count;
                    _children.Add(new());
                    _terminal.Add(false);
                    _children[node][b] = child;
                }
                node = child;
            }
            _terminal[node] = true;
        }
    }

    public override void Enter(Frame? parent, List<Frame> output) => output.Add(new SetFrame(this, 0) { Parent = parent });

    private sealed record SetFrame(LiteralSetNode Node, int At) : Frame
    {
        public override bool CanFinish => Node._terminal[At];

        public override void Step(byte b, List<Frame> output)
        {
            if (Node._children[At].TryGetValue(b, out var next))
            {
                output.Add(this with { At = next });
            }
        }
    }
}
