namespace Qwen.Inference.Constraints;

/// <summary>
/// A prefix tree over token byte strings, flattened breadth-first so each node's children are contiguous:
/// node n's children are <c>ChildStart[n] … ChildStart[n] + ChildCount[n] − 1</c>, root 0.
/// </summary>
internal sealed class TokenTrie
{
    private TokenTrie(byte[] label, int[] tokenId, int[] childStart, int[] childCount)
    {
        Label = label;
        TokenId = tokenId;
        ChildStart = childStart;
        ChildCount = childCount;
    }

    /// <summary>The byte on the edge into each node (root: unused).</summary>
    public byte[] Label { get; }

    /// <summary>The token whose bytes end at each node, or −1.</summary>
    public int[] TokenId { get; }

    public int[] ChildStart { get; }

    public int[] ChildCount { get; }

    public int NodeCount => Label.Length;

    /// <summary>Builds the trie of <paramref name="ids"/>, whose bytes <paramref name="bytesOf"/> gives (non-empty, distinct).</summary>
    public static TokenTrie Build(IReadOnlyList<int> ids, Func<int, byte[]> bytesOf)
    {
        var tokens = ids.Select(id => (Id: id, Bytes: bytesOf(id))).Where(t => t.Bytes.Length > 0).ToArray();
        // Sorted by bytes, every node's tokens form one contiguous range: children are found by splitting ranges.
        Array.Sort(tokens, (a, b) => a.Bytes.AsSpan().SequenceCompareTo(b.Bytes));
        var label = new List<byte> { 0 };
        var tokenId = new List<int> { -1 };
        var childStart = new List<int> { 0 };
        var childCount = new List<int> { 0 };
        // Breadth-first queue of (node, depth, range of tokens sharing its prefix).
        var queue = new Queue<(int Node, int Depth, int From, int To)>();
        queue.Enqueue((0, 0, 0, tokens.Length));
        while (queue.TryDequeue(out var item))
        {
            var (node, depth, from, to) = item;
            var i = from;
            if (i < to && tokens[i].Bytes.Length == depth)
            {
                tokenId[node] = tokens[i].Id;
                i++;
            }
            childStart[node] = label.Count;
            while (i < to)
            {
                var b = tokens[i].Bytes[depth];
                var end = i + 1;
                while (end < to && tokens[end].Bytes[depth] == b)
                {
                    end++;
                }
                var child = label.Count;
                label.Add(b);
                tokenId.Add(-1);
                childStart.Add(0);
                childCount.Add(0);
                childCount[node]++;
                queue.Enqueue((child, depth + 1, i, end));
                i = end;
            }
        }
        return new TokenTrie([.. label], [.. tokenId], [.. childStart], [.. childCount]);
    }
}
