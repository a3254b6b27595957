using Qwen.Eval.Endpoints;

namespace Qwen.Eval.Perplexity;

/// <summary>Scores the same windows at every length on every endpoint and pools the log-likelihoods into perplexities.</summary>
/// <remarks>
/// Background: a window of length L is sent as one prompt, so the server chooses its long-context settings for L
/// (dynamic NTK's α from the prompt length, LogN from absolute positions) exactly as for a request of that length.
/// Windows run one at a time per endpoint: scoring is compute-bound, and concurrency would only blur the timings.
/// </remarks>
public static class PerplexityEvaluator
{
    /// <summary>Runs every (endpoint, length, window); <paramref name="progress"/> is called after each window with the endpoint's index.</summary>
    public static async Task<PerplexityReport> RunAsync(
        string data,
        IReadOnlyList<int> tokens,
        IReadOnlyList<(string Label, CompletionsScoringClient Client)> endpoints,
        IReadOnlyList<int> lengths,
        int windows,
        Action<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (lengths.Count == 0 || lengths.Any(l => l < 2))
        {
            throw new ArgumentException("Every length must be at least 2 tokens.", nameof(lengths));
        }
        var sorted = lengths.Distinct().Order().ToArray();
        var full = TokenData.Windows(tokens, windows, sorted[^1]);
        var settings = new List<PerplexitySetting>();
        for (var e = 0; e < endpoints.Count; e++)
        {
            var (label, client) = endpoints[e];
            var points = new List<PerplexityPoint>();
            foreach (var length in sorted)
            {
                var sum = 0.0;
                var count = 0;
                var perWindow = new double[full.Length];
                for (var w = 0; w < full.Length; w++)
                {
                    var logprobs = await client.ScoreAsync(full[w].AsSpan(0, length).ToArray(), cancellationToken).ConfigureAwait(false);
                    var windowSum = logprobs.Sum();
                    perWindow[w] = Math.Exp(-windowSum / logprobs.Length);
                    sum += windowSum;
                    count += logprobs.Length;
                    progress?.Invoke(e);
                }
                var mean = sum / count;
                points.Add(new PerplexityPoint(length, count, mean, Math.Exp(-mean), perWindow));
            }
            settings.Add(new PerplexitySetting(label, client.BaseUri.ToString(), points));
        }
        return new PerplexityReport { Data = data, Windows = windows, Lengths = sorted, Settings = settings };
    }
}
