namespace Qwen.Functions.Tests.Orchestrations;

/// <summary>A <see cref="TimeProvider"/> that tells the real time plus an offset the test sets.</summary>
public sealed class ManualClock : TimeProvider
{
    private long _offsetTicks;

    /// <summary>Added to the real UTC time.</summary>
    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
