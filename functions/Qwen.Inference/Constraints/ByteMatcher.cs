namespace Qwen.Inference.Constraints;

/// <summary>
/// Runs compiled grammars over bytes. A state is the set of live matcher stacks (their top frames), usually one;
/// ambiguous grammars (alternatives with a common prefix, text that may end or go on) keep several, merged when equal.
/// </summary>
/// <remarks>Pure functions over immutable frames: thread-safe, and a state can be explored byte by byte (the token trie walk) without undo.</remarks>
internal static class ByteMatcher
{
    [ThreadStatic]
    private static List<Frame>? t_buffer;

    /// <summary>The state before any byte.</summary>
    public static Frame[] Start(MatchNode root)
    {
        var output = new List<Frame>();
        root.Enter(null, output);
        return Distinct(output);
    }

    /// <summary>The state after <paramref name="b"/>; empty when no stack accepts it.</summary>
    public static Frame[] Advance(Frame[] state, byte b)
    {
        var output = t_buffer ??= new List<Frame>(8);
        output.Clear();
        foreach (var frame in state)
        {
            Feed(frame, b, output);
        }
        if (output.Count == 0)
        {
            return [];
        }
        var result = Distinct(output);
        output.Clear();
        return result;
    }

    /// <summary>The state after all of <paramref name="bytes"/>; empty when they do not match.</summary>
    public static Frame[] Advance(Frame[] state, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            state = Advance(state, b);
            if (state.Length == 0)
            {
                break;
            }
        }
        return state;
    }

    /// <summary>True when the bytes so far are a complete match of the whole grammar.</summary>
    public static bool IsComplete(Frame[] state)
    {
        foreach (var frame in state)
        {
            if (IsComplete(frame))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>True when some byte can follow.</summary>
    public static bool CanContinue(Frame[] state)
    {
        for (var b = 0; b < 256; b++)
        {
            if (Advance(state, (byte)b).Length > 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Feeds one byte to one stack: the top frame consumes it, or (when its node may end) the frames that follow do.</summary>
    public static void Feed(Frame frame, byte b, List<Frame> output)
    {
        frame.Step(b, output);
        if (frame.CanFinish && frame.Parent is { } parent)
        {
            var resumed = new List<Frame>(2);
            parent.Resume(resumed);
            foreach (var next in resumed)
            {
                Feed(next, b, output);
            }
        }
    }

    /// <summary>Enters <paramref name="node"/> under <paramref name="parent"/> and feeds it <paramref name="b"/>.</summary>
    public static void EnterAndFeed(MatchNode node, Frame parent, byte b, List<Frame> output)
    {
        var entered = new List<Frame>(2);
        node.Enter(parent, entered);
        foreach (var frame in entered)
        {
            Feed(frame, b, output);
        }
    }

    private static bool IsComplete(Frame frame)
    {
        if (!frame.CanFinish)
        {
            return false;
        }
        if (frame.Parent is not { } parent)
        {
            return true;
        }
        var resumed = new List<Frame>(2);
        parent.Resume(resumed);
        foreach (var next in resumed)
        {
            if (IsComplete(next))
            {
                return true;
            }
        }
        return false;
    }

    private static Frame[] Distinct(List<Frame> frames)
    {
        if (frames.Count == 1)
        {
            return [frames[0]];
        }
        if (frames.Count <= 8)
        {
            var result = new List<Frame>(frames.Count);
            foreach (var frame in frames)
            {
                if (!result.Contains(frame))
                {
                    result.Add(frame);
                }
            }
            return [.. result];
        }
        // Many stacks (a wide anyOf): hash instead of comparing every pair; order kept for determinism.
        var seen = new HashSet<Frame>(frames.Count);
        return [.. frames.Where(seen.Add)];
    }
}
