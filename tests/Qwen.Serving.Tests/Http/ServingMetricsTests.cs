using Qwen.Serving.Http;

namespace Qwen.Serving.Tests.Http;

public sealed class ServingMetricsTests
{
    [Fact]
    public void ToPrometheusText_AfterOneGeneration_HasCountersAndHistogram()
    {
        var metrics = new ServingMetrics();
        metrics.RequestCompleted("chat_completions", 200);
        metrics.RequestCompleted("chat_completions", 200);
        metrics.RequestCompleted("chat_completions", 429);
        metrics.GenerationCompleted(20, 11, TimeSpan.FromMilliseconds(40), TimeSpan.FromSeconds(2));
        var text = metrics.ToPrometheusText();
        Assert.Contains("qwen_requests_total{route=\"chat_completions\",status=\"200\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("qwen_requests_total{route=\"chat_completions\",status=\"429\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("qwen_prompt_tokens_total 20\n", text, StringComparison.Ordinal);
        Assert.Contains("qwen_completion_tokens_total 11\n", text, StringComparison.Ordinal);
        Assert.Contains("qwen_decode_tokens_per_second 5\n", text, StringComparison.Ordinal); // 10 tokens after the first in 2 s
        Assert.Contains("qwen_time_to_first_token_seconds_bucket{le=\"0.025\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("qwen_time_to_first_token_seconds_bucket{le=\"0.05\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("qwen_time_to_first_token_seconds_count 1\n", text, StringComparison.Ordinal);
    }
}
