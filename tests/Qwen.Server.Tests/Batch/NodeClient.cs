using System.Diagnostics;
using System.Text.Json;
using Qwen.Testing;

namespace Qwen.Server.Tests.Batch;

/// <summary>Runs tests/Qwen.Server.Tests/node/openai-batch.mjs (the official <c>openai</c> npm package) against a server.</summary>
public static class NodeClient
{
    public static async Task<JsonDocument> RunBatchAsync(Uri baseUri, string key, string mode, string inputJsonl, TimeSpan timeout)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "Qwen.Server.Tests", "node", "openai-batch.mjs");
        Assert.True(File.Exists(Path.Combine(RepoPaths.NodeModules, "openai", "package.json")), "node_modules/openai is missing: run ./eng/bootstrap.sh");
        var input = Path.Combine(Path.GetTempPath(), $"qwen-batch-input-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(input, inputJsonl);
        try
        {
            var psi = new ProcessStartInfo("node", [script, mode]) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["QWEN_BASE_URL"] = new Uri(baseUri, "v1").ToString();
            psi.Environment["QWEN_KEY"] = key;
            psi.Environment["QWEN_INPUT"] = input;
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            await process.WaitForExitAsync(cts.Token);
            Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr}");
            return JsonDocument.Parse(await stdout);
        }
        finally
        {
            File.Delete(input);
        }
    }
}
