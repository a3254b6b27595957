namespace Qwen.Inference.Tokenization;

/// <summary>
/// tiktoken's rank-based BPE (spec §4.3): repeatedly merge the adjacent pair whose concatenation has the lowest rank,
/// leftmost on ties, until no concatenation is in the table.
/// </summary>
internal static class BytePairEncoder
{
    // Below this many bytes the quadratic scan (tiktoken's own loop) beats a heap.
    internal const int HeapThreshold = 128;

    public static void Encode(TokenRankTable table, ReadOnlySpan<byte> piece, List<int> output)
    {
        if (piece.Length >= HeapThreshold) EncodeWithHeap(table, piece, output);
        else EncodeQuadratic(table, piece, output);
    }

    internal static void EncodeQuadratic(TokenRankTable table, ReadOnlySpan<byte> piece, List<int> output)
    {
        int n = piece.Length;
        // starts[i] = byte offset of part i; starts[count] = n. ranks[i] = rank of part i joined with part i+1.
        Span<int> starts = n + 1 <= 256 ? stackalloc int[n + 1] : new int[n + 1];
        Span<int> ranks = n <= 256 ? stackalloc int[n] : new int[n];
        int count = n;
        for (int i = 0; i <= n; i++) starts[i] = i;
        for (int i = 0; i < count - 1; i++) ranks[i] = Rank(table, piece, starts[i], starts[i + 2]);
        if (count > 0) ranks[count - 1] = int.MaxValue;

        while (count > 1)
        {
            int best = int.MaxValue, at = -1;
            for (int i = 0; i < count - 1; i++)
            {
                if (ranks[i] < best) { best = ranks[i]; at = i; }
            }
            if (at < 0) break;
            // Merge part at+1 into part at.
            starts.Slice(at + 2, count - at - 1).CopyTo(starts.Slice(at + 1));
            ranks.Slice(at + 1, count - at - 1).CopyTo(ranks.Slice(at));
            count--;
            ranks[count - 1] = int.MaxValue;
            ranks[at] = at + 1 < count ? Rank(table, piece, starts[at], starts[at + 2]) : int.MaxValue;
            if (at > 0) ranks[at - 1] = Rank(table, piece, starts[at - 1], starts[at + 1]);
        }
        for (int i = 0; i < count; i++) output.Add(table.GetRank(piece[starts[i]..starts[i + 1]]));
    }

    internal static void EncodeWithHeap(TokenRankTable table, ReadOnlySpan<byte> piece, List<int> output)
    {
        int n = piece.Length;
        // Boundaries are byte offsets 0..n; a part runs from a live boundary to the next one. Boundaries only disappear,
        // so a queued pair (s, e) is still current iff s is live and exactly one live boundary lies between s and e.
        var next = new int[n + 1];
        var prev = new int[n + 1];
        var live = new bool[n + 1];
        for (int i = 0; i <= n; i++) { next[i] = i + 1; prev[i] = i - 1; live[i] = true; }
        var queue = new PriorityQueue<long, long>(n);
        void Push(int s, int e, ReadOnlySpan<byte> bytes)
        {
            int r = table.GetRank(bytes[s..e]);
            if (r >= 0) queue.Enqueue(((long)s << 32) | (uint)e, ((long)r << 32) | (uint)s);
        }
        for (int i = 0; i + 2 <= n; i++) Push(i, i + 2, piece);

        while (queue.TryDequeue(out long pair, out _))
        {
            int s = (int)(pair >> 32), e = (int)pair;
            if (!live[s]) continue;
            int m = next[s];
            if (m >= n || next[m] != e) continue;
            live[m] = false;
            next[s] = e;
            prev[e] = s;
            if (prev[s] >= 0) Push(prev[s], e, piece);
            if (e < n) Push(s, next[e], piece);
        }
        for (int s = 0; s < n; s = next[s]) output.Add(table.GetRank(piece[s..next[s]]));
    }

    private static int Rank(TokenRankTable table, ReadOnlySpan<byte> piece, int start, int end)
    {
        int r = table.GetRank(piece[start..end]);
        return r < 0 ? int.MaxValue : r;
    }
}
