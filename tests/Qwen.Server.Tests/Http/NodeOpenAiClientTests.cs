using System.Diagnostics;
using System.Text.Json;
using Qwen.Testing;

namespace Qwen.Server.Tests.Http;

/// <summary>The official <c>openai</c> npm package (node_modules) against the standalone server on 127.0.0.1.</summary>
public sealed class NodeOpenAiClientTests : IAsyncLifetime
{
    private const string Key = "node-test-key-0123456789abcdef01234";
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(["--api-key", Key]);
    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task OpenAiNpmClient_ChatStreamToolsRoundTrip_AllSucceed()
    {
        _server.Fake.Respond = _ => "Hello, world! How are you today?\n\nBye.";
        var script = Path.Combine(RepoPaths.Root, "tests", "Qwen.Server.Tests", "node", "openai-client.mjs");
        Assert.True(File.Exists(Path.Combine(RepoPaths.NodeModules, "openai", "package.json")), "node_modules/openai is missing: run ./eng/bootstrap.sh");
        var psi = new ProcessStartInfo("node", [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["QWEN_BASE_URL"] = new Uri(_server.BaseUri, "v1").ToString();
        psi.Environment["QWEN_KEY"] = Key;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr}");
        using var doc = JsonDocument.Parse(await stdout);
        var r = doc.RootElement;

        Assert.Equal("Hello, world! How are you today?", r.GetProperty("chat").GetProperty("content").GetString());
        Assert.Equal("stop", r.GetProperty("chat").GetProperty("finish").GetString());
        Assert.Equal(9, r.GetProperty("chat").GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var stream = r.GetProperty("stream");
        Assert.Equal("Hello, world! How are you today?\n\nBye.", stream.GetProperty("text").GetString());
        Assert.Equal("stop", stream.GetProperty("finish").GetString());
        var replyTokens = TestServer.Tokenizer.Encode("Hello, world! How are you today?\n\nBye.").Count;
        Assert.Equal(replyTokens, stream.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        // ChatML: 14 tokens besides the system text when the query is "Hi" (20 with the default system, spec §5.1).
        Assert.Equal(14 + TestServer.Tokenizer.Encode("Be brief.").Count, stream.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(replyTokens + 3, stream.GetProperty("chunks").GetInt32()); // role + one per token + finish + usage

        var tools = r.GetProperty("tools");
        Assert.Equal("tool_calls", tools.GetProperty("firstFinish").GetString());
        Assert.Equal("get_weather", tools.GetProperty("name").GetString());
        Assert.Equal("Paris", tools.GetProperty("arguments").GetProperty("city").GetString());
        Assert.Equal("stop", tools.GetProperty("secondFinish").GetString());
        Assert.Equal("It is 22 degrees and sunny in Paris.", tools.GetProperty("answer").GetString());

        Assert.Equal(401, r.GetProperty("wrongKey").GetProperty("status").GetInt32());
        Assert.Equal("invalid_api_key", r.GetProperty("wrongKey").GetProperty("code").GetString());
        Assert.Equal([TestServer.ModelName], r.GetProperty("models").EnumerateArray().Select(e => e.GetString()));
    }
}
