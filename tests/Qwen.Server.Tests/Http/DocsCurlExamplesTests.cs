using System.Diagnostics;
using System.Text.RegularExpressions;
using Qwen.Testing;

namespace Qwen.Server.Tests.Http;

/// <summary>Runs every ```bash block of docs/api.md with curl against the standalone server on 127.0.0.1.</summary>
public sealed partial class DocsCurlExamplesTests : IAsyncLifetime
{
    private const string Key = "docs-key-0123456789abcdef0123456789";
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(["--api-key", Key]);
        _server.Fake.Respond = _ => "Hello, world!";
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<int> Blocks() => new(Enumerable.Range(0, ReadBlocks().Count));

    [Fact]
    public void ApiDoc_HasCurlExamples_ForEveryRoute()
    {
        var all = string.Join("\n", ReadBlocks());
        foreach (var route in new[] { "/v1/chat/completions", "/openai/deployments/", "/v1/completions", "/tokenize", "/detokenize", "/apply-template", "/v1/models", "/health", "/ready", "/metrics" })
        {
            Assert.Contains(route, all, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public async Task ApiDocExample_RunWithCurl_Succeeds(int index)
    {
        var block = ReadBlocks()[index];
        var psi = new ProcessStartInfo("bash", ["-euo", "pipefail", "-c", block]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["QWEN_URL"] = _server.BaseUri.ToString().TrimEnd('/');
        psi.Environment["QWEN_KEY"] = Key;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"block {index} exited {process.ExitCode}: {await stderr}\n{output}\n---\n{block}");
        Assert.DoesNotContain("\"error\"", output, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(output), $"block {index} printed nothing");
    }

    private static List<string> ReadBlocks()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "api.md"));
        return BashBlock().Matches(doc).Select(m => m.Groups[1].Value).ToList();
    }

    [GeneratedRegex("```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();
}
