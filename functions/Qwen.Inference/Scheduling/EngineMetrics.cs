using System.Globalization;
using System.Text;

namespace Qwen.Inference.Scheduling;

/// <summary>Engine counters (requests, tokens, cache reuse, queue, TTFT, decode rate), updated by the engine and read by the HTTP layer.</summary>
/// <remarks>Thread-safe: writers use interlocked updates; <see cref="Snapshot"/> reads each value once.</remarks>
public sealed class EngineMetrics
{
    private long _requests;
    private long _rejected;
    private long _cancelled;
    private long _promptTokens;
    private long _cachedPromptTokens;
    private long _generatedTokens;
    private long _queueDepth;
    private long _running;
    private long _ttftCount;
    private long _ttftTicks;
    private long _decodeTokens;
    private long _decodeTicks;
    private long _prefillTokens;
    private long _prefillTicks;
    private long _prefillRuns;
    private long _decodeSteps;
    private long _forkedRows;
    private long _forkedTokens;

    /// <summary>A request was admitted with <paramref name="promptTokens"/> prompt tokens.</summary>
    public void RequestAdmitted(int promptTokens)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _promptTokens, promptTokens);
    }

    /// <summary>A request was refused because the queue was full.</summary>
    public void RequestRejected() => Interlocked.Increment(ref _rejected);

    /// <summary>A request was cancelled by its caller.</summary>
    public void RequestCancelled() => Interlocked.Increment(ref _cancelled);

    /// <summary>A request joined a row that already held <paramref name="cachedTokens"/> of its prompt.</summary>
    public void PromptCacheHit(int cachedTokens) => Interlocked.Add(ref _cachedPromptTokens, cachedTokens);

    /// <summary>Tokens sampled (any step).</summary>
    public void TokensGenerated(int count) => Interlocked.Add(ref _generatedTokens, count);

    /// <summary>First token of a request, <paramref name="elapsed"/> after admission.</summary>
    public void FirstToken(TimeSpan elapsed)
    {
        Interlocked.Increment(ref _ttftCount);
        Interlocked.Add(ref _ttftTicks, elapsed.Ticks);
    }

    /// <summary>A decode run produced <paramref name="tokens"/> tokens in <paramref name="elapsed"/>.</summary>
    public void DecodeStep(int tokens, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _decodeSteps);
        Interlocked.Add(ref _decodeTokens, tokens);
        Interlocked.Add(ref _decodeTicks, elapsed.Ticks);
    }

    /// <summary>A prefill run processed <paramref name="tokens"/> prompt tokens in <paramref name="elapsed"/>.</summary>
    public void PrefillStep(int tokens, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _prefillRuns);
        Interlocked.Add(ref _prefillTokens, tokens);
        Interlocked.Add(ref _prefillTicks, elapsed.Ticks);
    }

    /// <summary>A choice of a multi-choice request got its row by copying <paramref name="promptTokens"/> positions of the prompt's KV from the row that prefilled it (no prefill run).</summary>
    public void RowForked(int promptTokens)
    {
        Interlocked.Increment(ref _forkedRows);
        Interlocked.Add(ref _forkedTokens, promptTokens);
    }

    /// <summary>Current queue depth and running requests (gauges).</summary>
    public void SetOccupancy(int queueDepth, int running)
    {
        Interlocked.Exchange(ref _queueDepth, queueDepth);
        Interlocked.Exchange(ref _running, running);
    }

    /// <summary>Reads all values.</summary>
    public EngineMetricsSnapshot Snapshot()
    {
        var ttftCount = Interlocked.Read(ref _ttftCount);
        var ttftTicks = Interlocked.Read(ref _ttftTicks);
        var decodeTokens = Interlocked.Read(ref _decodeTokens);
        var decodeTicks = Interlocked.Read(ref _decodeTicks);
        var prefillTokens = Interlocked.Read(ref _prefillTokens);
        var prefillTicks = Interlocked.Read(ref _prefillTicks);
        return new EngineMetricsSnapshot(
            Requests: Interlocked.Read(ref _requests),
            RejectedRequests: Interlocked.Read(ref _rejected),
            CancelledRequests: Interlocked.Read(ref _cancelled),
            PromptTokens: Interlocked.Read(ref _promptTokens),
            CachedPromptTokens: Interlocked.Read(ref _cachedPromptTokens),
            GeneratedTokens: Interlocked.Read(ref _generatedTokens),
            QueueDepth: (int)Interlocked.Read(ref _queueDepth),
            RunningRequests: (int)Interlocked.Read(ref _running),
            TimeToFirstTokenCount: ttftCount,
            TimeToFirstTokenSum: TimeSpan.FromTicks(ttftTicks),
            DecodeTokens: decodeTokens,
            DecodeTime: TimeSpan.FromTicks(decodeTicks),
            PrefillTokens: prefillTokens,
            PrefillTime: TimeSpan.FromTicks(prefillTicks))
        {
            PrefillRuns = Interlocked.Read(ref _prefillRuns),
            DecodeSteps = Interlocked.Read(ref _decodeSteps),
            ForkedRows = Interlocked.Read(ref _forkedRows),
            ForkedPromptTokens = Interlocked.Read(ref _forkedTokens),
        };
    }

    /// <summary>The snapshot in Prometheus text exposition format (version 0.0.4), metric names prefixed <c>qwen_engine_</c>.</summary>
    public string ToPrometheusText()
    {
        var s = Snapshot();
        var text = new StringBuilder();
        Write(text, "requests_total", "counter", "Requests admitted.", s.Requests);
        Write(text, "rejected_requests_total", "counter", "Requests refused because the admission queue was full.", s.RejectedRequests);
        Write(text, "cancelled_requests_total", "counter", "Requests cancelled by the caller.", s.CancelledRequests);
        Write(text, "prompt_tokens_total", "counter", "Prompt tokens of admitted requests.", s.PromptTokens);
        Write(text, "cached_prompt_tokens_total", "counter", "Prompt tokens reused from a row's cached prefix instead of prefilled.", s.CachedPromptTokens);
        Write(text, "prefill_tokens_total", "counter", "Prompt tokens run through prefill (the uncached part of each prompt).", s.PrefillTokens);
        Write(text, "prefill_runs_total", "counter", "Prefill model runs (one per joining request; the choices of one multi-choice request share one).", s.PrefillRuns);
        Write(text, "forked_rows_total", "counter", "Rows that got a prompt's KV by copy from another row instead of a prefill (choices 2…n of a multi-choice request).", s.ForkedRows);
        Write(text, "forked_prompt_tokens_total", "counter", "Prompt positions copied into forked rows.", s.ForkedPromptTokens);
        Write(text, "decode_steps_total", "counter", "Decode model runs (one token for every running row each).", s.DecodeSteps);
        Write(text, "generated_tokens_total", "counter", "Tokens sampled.", s.GeneratedTokens);
        Write(text, "queue_depth", "gauge", "Requests waiting for a batch row.", s.QueueDepth);
        Write(text, "running_requests", "gauge", "Requests holding a batch row.", s.RunningRequests);
        text.Append("# HELP qwen_engine_time_to_first_token_seconds Time from admission to the first sampled token.\n");
        text.Append("# TYPE qwen_engine_time_to_first_token_seconds summary\n");
        text.Append("qwen_engine_time_to_first_token_seconds_sum ").Append(Format(s.TimeToFirstTokenSum.TotalSeconds)).Append('\n');
        text.Append("qwen_engine_time_to_first_token_seconds_count ").Append(s.TimeToFirstTokenCount.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Write(text, "decode_tokens_per_second", "gauge", "Tokens per second of decode runs (all rows), since start.", s.DecodeTokensPerSecond);
        Write(text, "prefill_tokens_per_second", "gauge", "Prompt tokens per second of prefill runs, since start.", s.PrefillTokensPerSecond);
        return text.ToString();
    }

    private static void Write(StringBuilder text, string name, string type, string help, double value)
    {
        text.Append("# HELP qwen_engine_").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE qwen_engine_").Append(name).Append(' ').Append(type).Append('\n');
        text.Append("qwen_engine_").Append(name).Append(' ').Append(Format(value)).Append('\n');
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
