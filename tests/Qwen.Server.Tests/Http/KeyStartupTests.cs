using System.Net;
using System.Text;
using Microsoft.Extensions.Options;

namespace Qwen.Server.Tests.Http;

/// <summary>Keys that cannot fail open: the server refuses to start with a weak or unresolved key, and a keyless server serves direct loopback callers only.</summary>
public sealed class KeyStartupTests
{
    [Theory]
    [InlineData("0123456789", "is 10 characters")]
    [InlineData("@Microsoft.KeyVault(SecretUri=https://kv-qwen.vault.azure.net/secrets/qwen-api-key/)", "unresolved Key Vault reference")]
    public async Task Start_BadKey_RefusedWithTheFix(string key, string expected)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () => await TestServer.StartAsync(["--api-key", key]));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.9")]
    [InlineData("Forwarded", "for=203.0.113.9")]
    [InlineData("Via", "1.1 nginx")]
    public async Task Keyless_LoopbackThroughAProxy_401(string header, string value)
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"qwen-test","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation(header, value);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains($"came through a proxy ({header} header)", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("http://*:8080")]
    [InlineData("http://+:8080")]
    [InlineData("http://[::]:8080")]
    [InlineData("http://127.0.0.1:8080;http://10.1.2.3:8080")]
    public void Build_KeylessOnANonLoopbackUrl_Refused(string urls)
    {
        var ex = Assert.Throws<ArgumentException>(() => QwenServerApp.Build(["--urls", urls]));

        Assert.Contains("No API key is set, but the server would listen on", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("http://localhost:0")]
    [InlineData("http://[::1]:0")]
    public async Task Build_KeylessOnLoopback_Allowed(string urls)
    {
        await using var app = QwenServerApp.Build(["--urls", urls, "--worker", "http://127.0.0.1:9", "--worker-key", new string('w', 40)]);
        Assert.NotNull(app);
    }

    [Theory]
    [InlineData("--api-kye")]
    [InlineData("--max-batch")]
    [InlineData("-m")]
    public void Build_UnknownOption_RefusedNamingIt(string option)
    {
        var ex = Assert.Throws<ArgumentException>(() => QwenServerApp.Build([option, "x", "--urls", "http://127.0.0.1:0"]));

        Assert.StartsWith($"Unknown option '{option}'.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerProcess_UnknownOption_Exit2NamingIt()
    {
        // The real entry point, as `dotnet run --project functions/Qwen.Server -- --dtyp int4` runs it.
        var server = Path.Combine(AppContext.BaseDirectory, "Qwen.Server.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [server, "--dtyp", "int4"]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, process.ExitCode);
        Assert.StartsWith("Qwen.Server: Unknown option '--dtyp'.", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keyless_DirectLoopback_Served()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();

        using var response = await client.PostAsync("v1/chat/completions", new StringContent(
            """{"model":"qwen-test","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
