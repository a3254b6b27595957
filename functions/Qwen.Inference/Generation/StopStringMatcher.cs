namespace Qwen.Inference.Generation;

/// <summary>
/// Finds stop strings in streamed text across token boundaries. Text that could still become the start of a stop
/// string is held back; stop text itself is never released.
/// </summary>
/// <remarks>One instance per request; not thread-safe. Empty stop strings are ignored.</remarks>
public sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private string _pending = "";

    /// <summary>Creates a matcher for <paramref name="stopStrings"/>.</summary>
    public StopStringMatcher(IEnumerable<string> stopStrings)
    {
        ArgumentNullException.ThrowIfNull(stopStrings);
        _stops = [.. stopStrings.Where(s => !string.IsNullOrEmpty(s)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>True once a stop string was found; later input is ignored.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The stop string that matched, when <see cref="Stopped"/>.</summary>
    public string? MatchedStop { get; private set; }

    /// <summary>Number of characters currently held back.</summary>
    public int HeldBackLength => _pending.Length;

    /// <summary>Adds newly decoded text; returns the text that is now safe to emit (everything before a stop string, or before a possible stop prefix).</summary>
    public string Append(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Stopped)
        {
            return "";
        }
        if (_stops.Length == 0)
        {
            return text;
        }
        var pending = _pending + text;

        // The earliest occurrence wins: that is where the output would first have contained a stop string.
        var stopAt = -1;
        foreach (var stop in _stops)
        {
            var index = pending.IndexOf(stop, StringComparison.Ordinal);
            if (index >= 0 && (stopAt < 0 || index < stopAt))
            {
                stopAt = index;
                MatchedStop = stop;
            }
        }
        if (stopAt >= 0)
        {
            Stopped = true;
            _pending = "";
            return pending[..stopAt];
        }

        var hold = LongestSuffixThatStartsAStop(pending);
        _pending = pending[^hold..];
        return pending[..^hold];
    }

    /// <summary>Releases the held-back text at the end of a generation that did not stop on a stop string.</summary>
    public string Flush()
    {
        var rest = Stopped ? "" : _pending;
        _pending = "";
        return rest;
    }

    private int LongestSuffixThatStartsAStop(string pending)
    {
        var longest = 0;
        foreach (var stop in _stops)
        {
            var max = Math.Min(stop.Length - 1, pending.Length);
            for (var length = max; length > longest; length--)
            {
                if (pending.AsSpan(pending.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }
        return longest;
    }
}
