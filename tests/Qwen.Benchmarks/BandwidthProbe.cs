using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Qwen.Benchmarks;

/// <summary>Measures the machine's memory read bandwidth: every core streams its share of a buffer far larger than the caches.</summary>
public static class BandwidthProbe
{
    /// <summary>Best of <paramref name="repeats"/> passes over <paramref name="bytes"/> bytes with <paramref name="threads"/> threads, in bytes per second.</summary>
    public static unsafe double MeasureReadBytesPerSecond(long bytes = 1L << 30, int threads = 0, int repeats = 7)
    {
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        var count = bytes / sizeof(long);
        var buffer = (long*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            // Touch every page so the first pass does not measure page faults.
            new Span<long>(buffer, (int)Math.Min(count, int.MaxValue)).Fill(1);
            for (var i = (long)int.MaxValue; i < count; i++)
            {
                buffer[i] = 1;
            }
            var best = 0.0;
            var sink = 0L;
            for (var r = 0; r < repeats; r++)
            {
                var share = count / threads;
                var sums = new long[threads];
                var started = Stopwatch.GetTimestamp();
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    sums[t] = Sum(buffer + t * share, share);
                });
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                sink += sums.Sum();
                best = Math.Max(best, share * threads * sizeof(long) / seconds);
            }
            GC.KeepAlive(sink);
            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    private static unsafe long Sum(long* start, long count)
    {
        var width = Vector<long>.Count;
        Vector<long> a = default, b = default, c = default, d = default;
        long i = 0;
        for (; i + 4 * width <= count; i += 4 * width)
        {
            a += Vector.Load(start + i);
            b += Vector.Load(start + i + width);
            c += Vector.Load(start + i + 2 * width);
            d += Vector.Load(start + i + 3 * width);
        }
        var total = Vector.Sum(a + b + c + d);
        for (; i < count; i++)
        {
            total += start[i];
        }
        return total;
    }
}
