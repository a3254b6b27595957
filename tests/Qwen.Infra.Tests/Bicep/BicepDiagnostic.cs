using System.Text.RegularExpressions;

namespace Qwen.Infra.Tests.Bicep;

/// <summary>One diagnostic line printed by the Bicep CLI: <c>path(line,col) : Level code: message</c>.</summary>
public sealed partial record BicepDiagnostic(string Path, int Line, int Column, string Level, string Code, string Message)
{
    /// <summary>Parses a CLI output line; null when the line is not a diagnostic.</summary>
    public static BicepDiagnostic? TryParse(string line)
    {
        var match = LinePattern().Match(line);
        if (!match.Success)
        {
            return null;
        }
        return new BicepDiagnostic(
            System.IO.Path.GetFullPath(match.Groups["path"].Value),
            int.Parse(match.Groups["line"].Value),
            int.Parse(match.Groups["col"].Value),
            match.Groups["level"].Value,
            match.Groups["code"].Value,
            match.Groups["message"].Value);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Path}({Line},{Column}) : {Level} {Code}: {Message}";

    [GeneratedRegex(@"^(?<path>.+?)\((?<line>\d+),(?<col>\d+)\) : (?<level>Error|Warning|Info) (?<code>[^:]+): (?<message>.*)$")]
    private static partial Regex LinePattern();
}
