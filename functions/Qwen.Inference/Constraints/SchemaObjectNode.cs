namespace Qwen.Inference.Constraints;

/// <summary>
/// A JSON object with the schema's properties in their declared order (as OpenAI's strict mode writes them): required
/// properties always appear, optional ones may be left out, nothing else appears.
/// </summary>
internal sealed class SchemaObjectNode : MatchNode
{
    private readonly int[] _firstRequiredFrom;

    public SchemaObjectNode(SchemaProperty[] properties)
    {
        Properties = properties;
        _firstRequiredFrom = new int[properties.Length + 1];
        _firstRequiredFrom[properties.Length] = properties.Length;
        for (var i = properties.Length - 1; i >= 0; i--)
        {
            _firstRequiredFrom[i] = properties[i].Required ? i : _firstRequiredFrom[i + 1];
        }
    }

    public SchemaProperty[] Properties { get; }

    public override void Enter(Frame? parent, List<Frame> output) => output.Add(new ObjectFrame(this, Phase.Open, 0, 0) { Parent = parent });

    /// <summary>True when no required property remains from <paramref name="next"/> on, so the object may close.</summary>
    private bool MayClose(int next) => _firstRequiredFrom[next] == Properties.Length;

    /// <summary>Enters every property that may come next: from <paramref name="next"/> up to and including the first required one.</summary>
    private void EnterKeys(ObjectFrame frame, int next, byte b, List<Frame> output)
    {
        var last = Math.Min(_firstRequiredFrom[next], Properties.Length - 1);
        for (var j = next; j <= last; j++)
        {
            ByteMatcher.EnterAndFeed(Properties[j].Key, frame with { Phase = Phase.AfterKey, Member = j, Gap = 0 }, b, output);
        }
    }

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

    /// <summary>Where the object stands; <c>Member</c> is the property being written (the last one written in AfterValue, the next candidate in AfterComma).</summary>
    private sealed record ObjectFrame(SchemaObjectNode Node, Phase Phase, int Member, int Gap) : Frame
    {
        public override bool CanFinish => Phase == Phase.Done;

        public override void Step(byte b, List<Frame> output)
        {
            if (Phase == Phase.Open)
            {
                if (b == '{')
                {
                    output.Add(this with { Phase = Phase.AfterOpen, Member = 0 });
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
            var count = Node.Properties.Length;
            switch (Phase)
            {
                case Phase.AfterOpen:
                    if (b == '}' && Node.MayClose(0))
                    {
                        output.Add(this with { Phase = Phase.Done, Gap = 0 });
                    }
                    else if (count > 0)
                    {
                        Node.EnterKeys(this, 0, b, output);
                    }
                    break;
                case Phase.AfterComma:
                    Node.EnterKeys(this, Member, b, output);
                    break;
                case Phase.AfterKey when b == ':':
                    output.Add(this with { Phase = Phase.AfterColon, Gap = 0 });
                    break;
                case Phase.AfterColon:
                    ByteMatcher.EnterAndFeed(Node.Properties[Member].Value, this with { Phase = Phase.AfterValue, Gap = 0 }, b, output);
                    break;
                case Phase.AfterValue:
                    if (b == ',' && Member + 1 < count)
                    {
                        output.Add(this with { Phase = Phase.AfterComma, Member = Member + 1, Gap = 0 });
                    }
                    else if (b == '}' && Node.MayClose(Member + 1))
                    {
                        output.Add(this with { Phase = Phase.Done, Gap = 0 });
                    }
                    break;
            }
        }
    }
}
