namespace Qwen.Inference.Constraints;

/// <summary>Finds the tokens a grammar state allows by walking a token trie depth-first, advancing the state one byte per edge and pruning a subtree as soon as its prefix dies.</summary>
internal static class TrieWalker
{
    /// <summary>Sets the bit of every token in <paramref name="trie"/> whose bytes <paramref name="state"/> accepts; returns the number of trie nodes visited.</summary>
    public static int Walk(TokenTrie trie, Frame[] state, Span<ulong> bits)
    {
        var labels = trie.Label;
        var tokenIds = trie.TokenId;
        var childStart = trie.ChildStart;
        var childCount = trie.ChildCount;
        var stack = new Stack<(int Node, Frame[] State)>();
        stack.Push((0, state));
        var visited = 0;
        while (stack.TryPop(out var item))
        {
            var start = childStart[item.Node];
            var end = start + childCount[item.Node];
            for (var child = start; child < end; child++)
            {
                visited++;
                var next = ByteMatcher.Advance(item.State, labels[child]);
                if (next.Length == 0)
                {
                    continue;
                }
                var id = tokenIds[child];
                if (id >= 0)
                {
                    bits[id >> 6] |= 1UL << id;
                }
                if (childCount[child] > 0)
                {
                    stack.Push((child, next));
                }
            }
        }
        return visited;
    }
}
