using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Qwen.Serving.Batch;
using Qwen.Testing;
using Xunit.Abstractions;

namespace Qwen.Server.Tests.Batch;

/// <summary>The standalone server as a real process on the real engine, killed (SIGKILL) in the middle of a batch and started again over the same data directory.</summary>
public sealed partial class ServerKillTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "qwen-batch-kill-" + Guid.NewGuid().ToString("N"));
    private readonly List<Process> _processes = [];
    private string _package = null!;

    public async Task InitializeAsync() => _package = await TinyPackage.GetAsync();

    public Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            process.Dispose();
        }
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Server_KilledMidBatch_RestartFinishesWithoutRegeneratingFinishedRequests()
    {
        var (first, client) = await StartServerAsync();
        var model = JsonNode.Parse(await client.GetStringAsync("v1/models"))!["data"]![0]!["id"]!.GetValue<string>();
        const int Count = 24;
        var ids = Enumerable.Range(1, Count).Select(i => $"k{i:D2}").ToArray();
        var input = string.Join("\n", ids.Select(id =>
            $$$"""{"custom_id": "{{{id}}}", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "{{{model}}}", "messages": [{"role": "user", "content": "prompt {{{id}}}"}], "max_tokens": 24, "temperature": 0}}"""));
        using var form = new MultipartFormDataContent { { new StringContent("batch"), "purpose" }, { new ByteArrayContent(Encoding.UTF8.GetBytes(input)), "file", "in.jsonl" } };
        var file = JsonNode.Parse(await (await client.PostAsync("v1/files", form)).Content.ReadAsStringAsync())!;
        var created = await client.PostAsJsonAsync("v1/batches", new { input_file_id = file["id"]!.GetValue<string>(), endpoint = "/v1/chat/completions", completion_window = "24h" });
        var batchId = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var linesDir = Path.Combine(_dataDir, BatchStore.LinesPrefix(batchId));
        int Persisted() => Directory.Exists(linesDir) ? Directory.EnumerateFiles(linesDir, "*.json", SearchOption.AllDirectories).Count() : 0;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (Persisted() < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        first.Kill(entireProcessTree: true);
        await first.WaitForExitAsync();
        client.Dispose();
        var finishedBefore = Persisted();
        Assert.InRange(finishedBefore, 2, Count - 1); // killed in the middle, not after the end

        var (_, restarted) = await StartServerAsync();
        JsonNode batch;
        do
        {
            await Task.Delay(100);
            batch = JsonNode.Parse(await restarted.GetStringAsync($"v1/batches/{batchId}"))!;
        }
        while (batch["status"]!.GetValue<string>() is not ("completed" or "failed") && DateTime.UtcNow < deadline.AddMinutes(2));

        Assert.Equal("completed", batch["status"]!.GetValue<string>());
        var lines = await restarted.GetStringAsync($"v1/files/{batch["output_file_id"]}/content");
        Assert.Equal(ids, lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["custom_id"]!.GetValue<string>()));
        // The restarted process's engine counted exactly the requests that had no result when the first one died.
        var metrics = await restarted.GetStringAsync("metrics");
        var generatedAfter = int.Parse(EngineRequests().Match(metrics).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"killed with {finishedBefore}/{Count} requests persisted; the restarted engine ran {generatedAfter}");
        Assert.Equal(Count - finishedBefore, generatedAfter);
        restarted.Dispose();
    }

    private async Task<(Process Process, HttpClient Client)> StartServerAsync()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var server = Path.Combine(RepoPaths.Root, "functions", "Qwen.Server", "bin", configuration, "net10.0", "Qwen.Server.dll");
        Assert.True(File.Exists(server), $"{server} is missing: build the solution first.");
        var psi = new ProcessStartInfo("dotnet", ["exec", server, "--model", _package, "--urls", $"http://127.0.0.1:{port}", "--data-dir", _dataDir,
            "--threads", "1", "--max-batch-size", "2", "--Qwen:Batch:ChunkSize", "4", "--Qwen:Batch:MaxConcurrency", "2"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(psi)!;
        _processes.Add(process);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
        for (var i = 0; i < 600; i++)
        {
            Assert.False(process.HasExited, $"the server exited with {(process.HasExited ? process.ExitCode : 0)}");
            try
            {
                using var ready = await client.GetAsync("ready");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return (process, client);
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("The server did not become ready in 60 s.");
    }

    [GeneratedRegex(@"^qwen_engine_requests_total (\d+)$", RegexOptions.Multiline)]
    private static partial Regex EngineRequests();
}
