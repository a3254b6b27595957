namespace Qwen.Inference.Constraints;

/// <summary>A JSON object with any string keys and members matching <see cref="Value"/>.</summary>
internal sealed class JsonObjectNode(MatchNode value) : MatchNode
{
    public MatchNode Value { get; } = value;

    public override void Enter(Frame? parent, List<Frame> output) => output.Add(new ObjectFrame(this, Phase.Open, 0) { Parent = parent });

    private enum Phase : byte
    {
        Open,
        AfterOpen,
        AfterKey,
        AfterColon,
        AfterValue,
        AfterComma,
        Done,
    }

    private sealed record ObjectFrame(JsonObjectNode Node, Phase Phase, int Gap) : Frame
    {
        public override bool CanFinish => Phase == Phase.Done;

        public override void Step(byte b, List<Frame> output)
        {
            if (Phase == Phase.Open)
            {
                if (b == '{')
                {
                    output.Add(this with { Phase = Phase.AfterOpen });
                }
                return;
            }
            if (Phase == Phase.Done)
            {
                return;
            }
            if (JsonWhitespace.Next(Gap, b) is var gap and >= 0)
            {
                output.Add(this with { Gap = gap });
                return;
            }
            switch (Phase)
            {
                case Phase.AfterOpen when b == '}':
                case Phase.AfterValue when b == '}':
                    output.Add(this with { Phase = Phase.Done, Gap = 0 });
                    break;
                case Phase.AfterOpen:
                case Phase.AfterComma:
                    ByteMatcher.EnterAndFeed(JsonStringNode.Free, this with { Phase = Phase.AfterKey, Gap = 0 }, b, output);
                    break;
                case Phase.AfterKey when b == ':':
                    output.Add(this with { Phase = Phase.AfterColon, Gap = 0 });
                    break;
                case Phase.AfterColon:
                    ByteMatcher.EnterAndFeed(Node.Value, this with { Phase = Phase.AfterValue, Gap = 0 }, b, output);
                    break;
                case Phase.AfterValue when b == ',':
                    output.Add(this with { Phase = Phase.AfterComma, Gap = 0 });
                    break;
            }
        }
    }
}
