namespace Qwen.Infra.Tests.Bicep;

/// <summary>Exit code and output of one Bicep CLI run.</summary>
public sealed record BicepRun(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Diagnostics found in either stream.</summary>
    public IReadOnlyList<BicepDiagnostic> Diagnostics =>
        Lines.Select(BicepDiagnostic.TryParse).OfType<BicepDiagnostic>().ToArray();

    /// <summary>Non-empty lines of both streams (stdout first).</summary>
    public IEnumerable<string> Lines =>
        (StandardOutput + "\n" + StandardError).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Everything the CLI printed, for failure messages.</summary>
    public override string ToString() => $"exit {ExitCode}\n{StandardError}\n{StandardOutput}";
}
