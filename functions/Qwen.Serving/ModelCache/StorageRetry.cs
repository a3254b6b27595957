using Azure;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Qwen.Serving.ModelCache;

/// <summary>The retry pipeline for Blob/Queue calls: exponential back-off with jitter on transient storage failures only.</summary>
public static partial class StorageRetry
{
    /// <summary>True for failures worth retrying: no response, timeouts, throttling and 5xx (never 4xx such as 403/404).</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        RequestFailedException rf => rf.Status is 0 or 408 or 429 or 500 or 502 or 503 or 504,
        // Azure.Core throws AggregateException once its own retries are used up.
        AggregateException agg => agg.InnerExceptions.Count > 0 && agg.InnerExceptions.All(IsTransient),
        HttpRequestException => true,
        _ => false,
    };

    /// <summary>Builds the pipeline: <paramref name="maxRetries"/> retries after the first attempt, first delay <paramref name="delay"/>.</summary>
    public static ResiliencePipeline Create(int maxRetries, TimeSpan delay, ILogger logger)
    {
        if (maxRetries <= 0)
        {
            return ResiliencePipeline.Empty;
        }
        return new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = maxRetries,
                Delay = delay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                OnRetry = args =>
                {
                    LogRetry(logger, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.Message ?? "");
                    return default;
                },
            })
            .Build();
    }

    [LoggerMessage(10, LogLevel.Warning, "Transient storage failure, retry {Attempt} in {DelayMs} ms: {Message}")]
    private static partial void LogRetry(ILogger logger, int attempt, double delayMs, string message);
}
