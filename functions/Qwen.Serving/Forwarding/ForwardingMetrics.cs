using System.Globalization;
using System.Text;

namespace Qwen.Serving.Forwarding;

/// <summary>What the front counts: requests sent to the worker, requests refused before contacting it, and worker outages. Thread-safe.</summary>
public sealed class ForwardingMetrics
{
    private long _forwarded, _unauthorized, _unavailable;

    /// <summary>Requests sent on to the worker (whatever it answered).</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Requests refused for a missing or wrong client key; none of them reached the worker.</summary>
    public long Unauthorized => Interlocked.Read(ref _unauthorized);

    /// <summary>Requests answered 503 because the worker could not be reached or was starting.</summary>
    public long WorkerUnavailable => Interlocked.Read(ref _unavailable);

    internal void OnForwarded() => Interlocked.Increment(ref _forwarded);

    internal void OnUnauthorized() => Interlocked.Increment(ref _unauthorized);

    internal void OnWorkerUnavailable() => Interlocked.Increment(ref _unavailable);

    /// <summary>Prometheus text exposition format (version 0.0.4).</summary>
    public string ToPrometheusText()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"# HELP qwen_front_forwarded_total Requests the front sent to the worker.\n# TYPE qwen_front_forwarded_total counter\nqwen_front_forwarded_total {Forwarded}\n");
        sb.Append(inv, $"# HELP qwen_front_unauthorized_total Requests the front refused for the client key, without contacting the worker.\n# TYPE qwen_front_unauthorized_total counter\nqwen_front_unauthorized_total {Unauthorized}\n");
        sb.Append(inv, $"# HELP qwen_front_worker_unavailable_total Requests answered 503 because the worker was unreachable or starting.\n# TYPE qwen_front_worker_unavailable_total counter\nqwen_front_worker_unavailable_total {WorkerUnavailable}\n");
        return sb.ToString();
    }
}
