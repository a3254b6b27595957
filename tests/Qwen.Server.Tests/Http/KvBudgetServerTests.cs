using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Qwen.Server.Tests.Logging;

namespace Qwen.Server.Tests.Http;

/// <summary>A real engine behind a small KV budget (<c>--kv-cache-bytes</c>): the host advertises and enforces what a row holds.</summary>
public sealed class KvBudgetServerTests : IAsyncLifetime
{
    // The tiny fp32 package: 2 layers × 2 heads × 128 × 4 bytes × (key, value) = 4,096 bytes per position per row.
    private const int BytesPerPosition = 4096;
    private const int Positions = 100;

    private readonly CapturingLoggerProvider _logs = new();
    private RealEngineServer _server = null!;
    private HttpClient _client = null!;
    private string _model = null!;

    public async Task InitializeAsync()
    {
        // Less than one row of the default context (4,096 positions): one row of 100 positions.
        _server = await RealEngineServer.StartAsync(["--threads", "1", "--kv-cache-bytes", (Positions * BytesPerPosition).ToString(System.Globalization.CultureInfo.InvariantCulture)],
            configureServices: services => services.AddLogging(b => b.AddProvider(_logs)));
        (_client, _model) = (_server.Client, _server.Model);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Start_SmallKvBudget_LogsRowsTimesPositionsAndAdvertisesWhatARowHolds()
    {
        using var models = JsonDocument.Parse(await _client.GetStringAsync("v1/models"));

        Assert.Equal(Positions, models.RootElement.GetProperty("data")[0].GetProperty("context_length").GetInt32());
        Assert.Contains(_logs.Lines, l => l.Contains($"context {Positions} tokens per request; KV cache 1 rows × {Positions} positions (float32, 4,096 bytes per position per row", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ChatCompletion_PromptLongerThanARow_RefusedWithBothNumbers()
    {
        var content = string.Concat(Enumerable.Repeat("lorem ipsum ", 60));
        var body = "{\"model\":\"" + _model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}],\"max_tokens\":1}";

        using var response = await _client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(text);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains($"maximum context length is {Positions} tokens", message, StringComparison.Ordinal);
        var prompt = int.Parse(System.Text.RegularExpressions.Regex.Match(message, @"your prompt has (\d+) tokens").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(prompt, Positions, 1000);
    }

    [Fact]
    public async Task ChatCompletion_PromptThatFits_IsServed()
    {
        var body = "{\"model\":\"" + _model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":3,\"temperature\":0}";

        using var response = await _client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
