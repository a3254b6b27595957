namespace Qwen.Inference.Constraints;

/// <summary>A JSON array of <see cref="MinItems"/>…<see cref="MaxItems"/> items, each matching <see cref="Item"/>.</summary>
internal sealed class JsonArrayNode(MatchNode item, int minItems, int maxItems) : MatchNode
{
    public MatchNode Item { get; } = item;

    public int MinItems { get; } = minItems;

    public int MaxItems { get; } = maxItems;

    public override void Enter(Frame? parent, List<Frame> output) => output.Add(new ArrayFrame(this, Phase.Open, 0, 0) { Parent = parent });

    private enum Phase : byte
    {
        Open,
        AfterOpen,
        AfterItem,
        AfterComma,
        Done,
    }

    /// <summary>Where the array stands; <c>Gap</c> is the whitespace state of the current gap (<see cref="JsonWhitespace"/>).</summary>
    private sealed record ArrayFrame(JsonArrayNode Node, Phase Phase, int Count, int Gap) : Frame
    {
        public override bool CanFinish => Phase == Phase.Done;

        public override void Step(byte b, List<Frame> output)
        {
            if (Phase == Phase.Open)
            {
                if (b == '[')
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
                case Phase.AfterOpen:
                    if (b == ']' && Node.MinItems == 0)
                    {
                        output.Add(this with { Phase = Phase.Done, Gap = 0 });
                    }
                    else if (Node.MaxItems > 0)
                    {
                        ByteMatcher.EnterAndFeed(Node.Item, this with { Phase = Phase.AfterItem, Count = 1, Gap = 0 }, b, output);
                    }
                    break;
                case Phase.AfterItem:
                    if (b == ',' && Count < Node.MaxItems)
                    {
                        output.Add(this with { Phase = Phase.AfterComma, Gap = 0 });
                    }
                    else if (b == ']' && Count >= Node.MinItems)
                    {
                        output.Add(this with { Phase = Phase.Done, Gap = 0 });
                    }
                    break;
                case Phase.AfterComma:
                    ByteMatcher.EnterAndFeed(Node.Item, this with { Phase = Phase.AfterItem, Count = Count + 1, Gap = 0 }, b, output);
                    break;
            }
        }
    }
}
