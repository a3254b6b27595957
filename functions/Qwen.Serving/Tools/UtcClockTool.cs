using System.Globalization;

namespace Qwen.Serving.Tools;

/// <summary>Returns the current UTC date and time (ISO 8601); takes no arguments.</summary>
public sealed class UtcClockTool(TimeProvider timeProvider) : ITool
{
    /// <inheritdoc />
    public string Name => "utc_now";

    /// <inheritdoc />
    public string HumanName => "UTC clock";

    /// <inheritdoc />
    public string Description => "Returns the current date and time in UTC as ISO 8601, e.g. 2024-05-01T12:00:00Z.";

    /// <inheritdoc />
    public string ParametersJson => "[]";

    /// <inheritdoc />
    public Task<string> InvokeAsync(string arguments, CancellationToken cancellationToken = default)
        => Task.FromResult(timeProvider.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
}
