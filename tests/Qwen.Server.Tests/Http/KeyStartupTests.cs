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
