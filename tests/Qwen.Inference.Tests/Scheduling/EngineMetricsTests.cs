using Qwen.Inference.Scheduling;

namespace Qwen.Inference.Tests.Scheduling;

public sealed class EngineMetricsTests
{
    [Fact]
    public void Snapshot_AfterUpdates_ReportsCountersAndRates()
    {
        var metrics = new EngineMetrics();
        metrics.RequestAdmitted(100);
        metrics.RequestAdmitted(20);
        metrics.PromptCacheHit(15);
        metrics.TokensGenerated(7);
        metrics.FirstToken(TimeSpan.FromMilliseconds(300));
        metrics.FirstToken(TimeSpan.FromMilliseconds(100));
        metrics.DecodeStep(8, TimeSpan.FromMilliseconds(500));
        metrics.DecodeStep(8, TimeSpan.FromMilliseconds(500));
        metrics.SetOccupancy(3, 2);
        metrics.RequestRejected();

        var s = metrics.Snapshot();
        Assert.Equal(2, s.Requests);
        Assert.Equal(120, s.PromptTokens);
        Assert.Equal(15, s.CachedPromptTokens);
        Assert.Equal(7, s.GeneratedTokens);
        Assert.Equal(3, s.QueueDepth);
        Assert.Equal(2, s.RunningRequests);
        Assert.Equal(1, s.RejectedRequests);
        Assert.Equal(TimeSpan.FromMilliseconds(200), s.MeanTimeToFirstToken);
        Assert.Equal(16.0, s.DecodeTokensPerSecond);
    }

    [Fact]
    public void ToPrometheusText_Counters_UsesExpositionFormat()
    {
        var metrics = new EngineMetrics();
        metrics.RequestAdmitted(12);
        metrics.PromptCacheHit(5);
        metrics.FirstToken(TimeSpan.FromSeconds(0.25));

        var text = metrics.ToPrometheusText();
        Assert.Contains("# TYPE qwen_engine_requests_total counter\nqwen_engine_requests_total 1\n", text);
        Assert.Contains("qwen_engine_prompt_tokens_total 12\n", text);
        Assert.Contains("qwen_engine_cached_prompt_tokens_total 5\n", text);
        Assert.Contains("qwen_engine_time_to_first_token_seconds_sum 0.25\nqwen_engine_time_to_first_token_seconds_count 1\n", text);
        Assert.Contains("# TYPE qwen_engine_queue_depth gauge\nqwen_engine_queue_depth 0\n", text);
    }

    [Fact]
    public void Snapshot_PrefillDecodeAndForks_CountsRunsAndCopies()
    {
        var metrics = new EngineMetrics();
        metrics.PrefillStep(20, TimeSpan.FromMilliseconds(10));
        metrics.RowForked(20);
        metrics.RowForked(20);
        metrics.DecodeStep(3, TimeSpan.FromMilliseconds(5));
        metrics.DecodeStep(3, TimeSpan.FromMilliseconds(5));

        var s = metrics.Snapshot();
        Assert.Equal(1, s.PrefillRuns);
        Assert.Equal(20, s.PrefillTokens);
        Assert.Equal(2, s.ForkedRows);
        Assert.Equal(40, s.ForkedPromptTokens);
        Assert.Equal(2, s.DecodeSteps);
        var text = metrics.ToPrometheusText();
        Assert.Contains("qwen_engine_prefill_runs_total 1\n", text);
        Assert.Contains("qwen_engine_forked_rows_total 2\n", text);
        Assert.Contains("qwen_engine_decode_steps_total 2\n", text);
    }
}
