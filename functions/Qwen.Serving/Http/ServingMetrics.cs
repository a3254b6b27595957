using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Qwen.Inference.Scheduling;
using Qwen.Serving.Forwarding;

namespace Qwen.Serving.Http;

/// <summary>In-process counters behind <see cref="IServingMetrics"/>; histograms use fixed buckets. The engine's own <see cref="EngineMetrics"/> (scheduler queue, batch decode rate) are appended when registered, and so are the front's <see cref="ForwardingMetrics"/>.</summary>
public sealed class ServingMetrics(EngineMetrics? engine = null, ForwardingMetrics? forwarding = null) : IServingMetrics
{
    private static readonly double[] TtftBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private readonly ConcurrentDictionary<(string Route, int Status), long> _requests = new();
    private readonly long[] _ttftCounts = new long[TtftBuckets.Length + 1];
    private long _inFlight, _promptTokens, _completionTokens, _generations, _decodeTokens, _decodeTicks, _ttftTicks;
    private readonly Lock _histogram = new();

    public void RequestCompleted(string route, int statusCode) => _requests.AddOrUpdate((route, statusCode), 1, (_, n) => n + 1);

    public void InFlight(int delta) => Interlocked.Add(ref _inFlight, delta);

    public void GenerationCompleted(int promptTokens, int completionTokens, TimeSpan timeToFirstToken, TimeSpan decodeTime)
    {
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _completionTokens, completionTokens);
        Interlocked.Increment(ref _generations);
        // Decode rate excludes the first token, whose time is prefill (counted as TTFT).
        Interlocked.Add(ref _decodeTokens, Math.Max(0, completionTokens - 1));
        Interlocked.Add(ref _decodeTicks, decodeTime.Ticks);
        lock (_histogram)
        {
            _ttftTicks += timeToFirstToken.Ticks;
            var s = timeToFirstToken.TotalSeconds;
            var i = 0;
            while (i < TtftBuckets.Length && s > TtftBuckets[i])
            {
                i++;
            }
            _ttftCounts[i]++;
        }
    }

    public string ToPrometheusText()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append("# HELP qwen_requests_total HTTP requests by route and status.\n# TYPE qwen_requests_total counter\n");
        foreach (var ((route, status), n) in _requests.OrderBy(k => k.Key.Route, StringComparer.Ordinal).ThenBy(k => k.Key.Status))
        {
            sb.Append(inv, $"qwen_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n");
        }
        sb.Append(inv, $"# HELP qwen_prompt_tokens_total Prompt tokens processed.\n# TYPE qwen_prompt_tokens_total counter\nqwen_prompt_tokens_total {Interlocked.Read(ref _promptTokens)}\n");
        sb.Append(inv, $"# HELP qwen_completion_tokens_total Tokens generated.\n# TYPE qwen_completion_tokens_total counter\nqwen_completion_tokens_total {Interlocked.Read(ref _completionTokens)}\n");
        sb.Append(inv, $"# HELP qwen_queue_depth Generations admitted and not finished.\n# TYPE qwen_queue_depth gauge\nqwen_queue_depth {Interlocked.Read(ref _inFlight)}\n");
        var decodeSeconds = TimeSpan.FromTicks(Interlocked.Read(ref _decodeTicks)).TotalSeconds;
        var rate = decodeSeconds > 0 ? Interlocked.Read(ref _decodeTokens) / decodeSeconds : 0;
        sb.Append(inv, $"# HELP qwen_decode_tokens_per_second Mean decode rate per generation (tokens after the first / decode time).\n# TYPE qwen_decode_tokens_per_second gauge\nqwen_decode_tokens_per_second {rate:0.###}\n");
        sb.Append("# HELP qwen_time_to_first_token_seconds Time from admission to the first token.\n# TYPE qwen_time_to_first_token_seconds histogram\n");
        lock (_histogram)
        {
            long cumulative = 0;
            for (var i = 0; i < TtftBuckets.Length; i++)
            {
                cumulative += _ttftCounts[i];
                sb.Append(inv, $"qwen_time_to_first_token_seconds_bucket{{le=\"{TtftBuckets[i]}\"}} {cumulative}\n");
            }
            cumulative += _ttftCounts[^1];
            sb.Append(inv, $"qwen_time_to_first_token_seconds_bucket{{le=\"+Inf\"}} {cumulative}\n");
            sb.Append(inv, $"qwen_time_to_first_token_seconds_sum {TimeSpan.FromTicks(_ttftTicks).TotalSeconds:0.######}\n");
            sb.Append(inv, $"qwen_time_to_first_token_seconds_count {cumulative}\n");
        }
        if (engine is not null)
        {
            sb.Append(engine.ToPrometheusText());
        }
        if (forwarding is not null)
        {
            sb.Append(forwarding.ToPrometheusText());
        }
        return sb.ToString();
    }
}
