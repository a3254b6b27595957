using System.Diagnostics;
using System.Text.Json;

namespace Qwen.Testing;

/// <summary>Runs ONNX Runtime GenAI (tests/Qwen.Benchmarks.GenAi) in its own process and returns the JSON line it prints.</summary>
/// <remarks>
/// A separate process because GenAI 0.20 needs ONNX Runtime 1.32 while the engine runs 1.31.1, and one process loads one
/// onnxruntime library. Projects that use it reference the peer project with <c>ReferenceOutputAssembly="false"</c> so
/// it is built first.
/// </remarks>
public static class GenAiPeer
{
    /// <summary>The peer's entry assembly built in the caller's configuration: tests/&lt;caller&gt;/bin/&lt;Configuration&gt;/&lt;tfm&gt;/ → tests/Qwen.Benchmarks.GenAi/bin/….</summary>
    public static string DefaultPath
    {
        get
        {
            var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var tfm = here.Name;
            var configuration = here.Parent!.Name;
            var tests = here.Parent.Parent!.Parent!.Parent!.FullName;
            return Path.Combine(tests, "Qwen.Benchmarks.GenAi", "bin", configuration, tfm, "Qwen.Benchmarks.GenAi.dll");
        }
    }

    /// <summary>Runs the peer with <paramref name="arguments"/> and parses the last JSON line of its output.</summary>
    /// <exception cref="FileNotFoundException">The peer is not built.</exception>
    /// <exception cref="InvalidOperationException">The peer failed; its standard error is in the message.</exception>
    public static async Task<JsonDocument> RunAsync(string? peerPath, IEnumerable<string> arguments, CancellationToken cancellationToken = default)
    {
        peerPath ??= DefaultPath;
        if (!File.Exists(peerPath))
        {
            throw new FileNotFoundException($"The GenAI peer {peerPath} is not built; build tests/Qwen.Benchmarks.GenAi.");
        }
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(peerPath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var output = await stdout;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"The GenAI peer exited with {process.ExitCode}: {await stderr}{output}");
        }
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'))
            ?? throw new InvalidOperationException($"The GenAI peer printed no JSON: {output}");
        return JsonDocument.Parse(line);
    }
}
