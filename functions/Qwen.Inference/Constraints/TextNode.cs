using System.Runtime.CompilerServices;

namespace Qwen.Inference.Constraints;

/// <summary>Free text: at most <see cref="MaxChars"/> Unicode scalar values, none in <see cref="Forbidden"/>; may end at any character boundary.</summary>
internal sealed class TextNode : MatchNode
{
    private readonly HashSet<int> _forbiddenRunes;
    private readonly ConditionalWeakTable<Frame, StrongBox<bool>> _exactAfter = new();

    public TextNode(int maxChars, string forbidden)
    {
        MaxChars = maxChars;
        Forbidden = forbidden;
        _forbiddenRunes = [.. forbidden.EnumerateRunes().Select(r => r.Value)];
    }

    public int MaxChars { get; }

    public string Forbidden { get; }

    public bool IsForbidden(int rune) => _forbiddenRunes.Contains(rune);

    public override void Enter(Frame? parent, List<Frame> output) => output.Add(new TextFrame(this, 0, default) { Parent = parent });

    /// <summary>
    /// True when whatever may follow the text (the frames <paramref name="parent"/> resumes) can only start with a
    /// forbidden ASCII character: then a token without forbidden characters can only be more text, and the plain-token
    /// fast path is exact. Cached per parent frame, which stays the same object while the text runs.
    /// </summary>
    private bool FollowStartsForbidden(Frame? parent)
    {
        if (parent is null)
        {
            return true;
        }
        return _exactAfter.GetValue(parent, p =>
        {
            var resumed = new List<Frame>();
            p.Resume(resumed);
            var state = resumed.ToArray();
            for (var b = 0; b < 256; b++)
            {
                if (ByteMatcher.Advance(state, (byte)b).Length > 0 && (b >= 0x80 || !_forbiddenRunes.Contains(b)))
                {
                    return new StrongBox<bool>(false);
                }
            }
            return new StrongBox<bool>(true);
        }).Value;
    }

    private sealed record TextFrame(TextNode Node, int Count, Utf8Decoder Utf8) : Frame
    {
        public override bool CanFinish => Utf8.AtBoundary;

        public override void Step(byte b, List<Frame> output)
        {
            if (!Utf8.AtBoundary)
            {
                if (Utf8.TryContinue(b, out var next))
                {
                    if (next.AtBoundary)
                    {
                        if (!Node.IsForbidden(next.Value))
                        {
                            output.Add(this with { Count = Count + 1, Utf8 = default });
                        }
                    }
                    else
                    {
                        output.Add(this with { Utf8 = next });
                    }
                }
                return;
            }
            if (Count >= Node.MaxChars || !Utf8Decoder.TryStart(b, out var started))
            {
                return;
            }
            if (started.AtBoundary)
            {
                if (!Node.IsForbidden(b))
                {
                    output.Add(this with { Count = Count + 1 });
                }
            }
            else
            {
                output.Add(this with { Utf8 = started });
            }
        }

        public override bool TryGetPlainRun(VocabularyIndex index, out PlainTokenSet plain, out int remaining)
        {
            plain = index.TextTokens(Node.Forbidden);
            remaining = Node.MaxChars - Count;
            return Utf8.AtBoundary;
        }

        public override bool PlainRunIsExact => Node.FollowStartsForbidden(Parent);
    }
}
