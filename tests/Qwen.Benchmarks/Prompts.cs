namespace Qwen.Benchmarks;

/// <summary>Seeded prompts of ordinary (non-special) token ids, the same for the engine and GenAI.</summary>
public static class Prompts
{
    /// <summary><paramref name="length"/> ids in [0, 151643) from <paramref name="seed"/>.</summary>
    public static int[] Random(int length, int seed)
    {
        var random = new Random(seed);
        var ids = new int[length];
        for (var i = 0; i < length; i++)
        {
            ids[i] = random.Next(0, 151643);
        }
        return ids;
    }
}
