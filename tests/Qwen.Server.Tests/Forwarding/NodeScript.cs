using System.Diagnostics;
using System.Text.Json;
using Qwen.Testing;

namespace Qwen.Server.Tests.Forwarding;

/// <summary>Runs a script of tests/Qwen.Server.Tests/node with the official <c>openai</c> npm package and parses the JSON it prints.</summary>
public static class NodeScript
{
    /// <summary>Runs <paramref name="script"/> against <paramref name="baseUrl"/>; fails the test if it exits non-zero or outlives <paramref name="timeout"/> (default 2 minutes).</summary>
    public static async Task<JsonElement> RunAsync(string script, Uri baseUrl, string key, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var path = Path.Combine(RepoPaths.Root, "tests", "Qwen.Server.Tests", "node", script);
        Assert.True(File.Exists(Path.Combine(RepoPaths.NodeModules, "openai", "package.json")), "node_modules/openai is missing: run ./eng/bootstrap.sh");
        var psi = new ProcessStartInfo("node", [path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["QWEN_BASE_URL"] = baseUrl.ToString();
        psi.Environment["QWEN_KEY"] = key;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromSeconds(120);
        using var timer = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timer.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"node {script} did not finish within {limit.TotalSeconds:F0} s: {await stderr}");
        }
        Assert.True(process.ExitCode == 0, $"node {script} exited {process.ExitCode}: {await stderr}");
        using var doc = JsonDocument.Parse(await stdout);
        return doc.RootElement.Clone();
    }
}
