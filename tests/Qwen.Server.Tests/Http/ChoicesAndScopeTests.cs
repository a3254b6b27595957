using System.Net;
using System.Text;

namespace Qwen.Server.Tests.Http;

/// <summary>Request-level isolation rules on the fake engine: one refused choice fails the whole request at once, and every generation carries its caller's cache scope.</summary>
public sealed class ChoicesAndScopeTests : IAsyncLifetime
{
    private const string Key = "sk-scope-test-key-0123456789abcdef";
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(["--api-key", Key]);
    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ChatCompletions_OneChoiceRefused_SiblingsCancelledAnd429()
    {
        // Two of the three choices are admitted and would stream 40 tokens at 50 ms each (2 s); the third is refused.
        _server.Fake.MaxConcurrent = 2;
        _server.Fake.TokenDelay = TimeSpan.FromMilliseconds(50);
        _server.Fake.Respond = _ => string.Concat(Enumerable.Repeat("word ", 40));
        using var client = _server.CreateClient(Key);

        var started = DateTime.UtcNow;
        using var response = await client.PostAsync("v1/chat/completions", new StringContent(
            """{"model":"qwen-test","messages":[{"role":"user","content":"Hi"}],"n":3}""", Encoding.UTF8, "application/json"));
        var elapsed = DateTime.UtcNow - started;

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.True(response.Headers.RetryAfter is not null, "429 without Retry-After");
        Assert.True(elapsed < TimeSpan.FromSeconds(1.5), $"the refusal took {elapsed.TotalMilliseconds:F0} ms: the siblings ran on");
        await WaitUntilAsync(() => _server.Fake.Active == 0);
        Assert.Equal(0, _server.Fake.Completed);
        Assert.Equal(2, _server.Fake.Cancelled);
    }

    [Fact]
    public async Task Generation_CacheScope_FollowsKeyAndUser_NeverTheKeyItself()
    {
        using var client = _server.CreateClient(Key);
        foreach (var user in new[] { "alice", "alice", "bob", null })
        {
            var userField = user is null ? "" : $",\"user\":\"{user}\"";
            using var response = await client.PostAsync("v1/chat/completions", new StringContent(
                "{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2" + userField + "}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var scopes = _server.Fake.Requests.Select(r => r.CacheScope).ToArray();
        Assert.Equal(4, scopes.Length);
        Assert.All(scopes, s => Assert.Matches("^[0-9a-f]{32}$", s!));
        Assert.Equal(scopes[0], scopes[1]);    // same key, same user: one tenant
        Assert.NotEqual(scopes[0], scopes[2]); // same key, another user: kept apart
        Assert.NotEqual(scopes[0], scopes[3]);
        Assert.NotEqual(scopes[2], scopes[3]);
        Assert.DoesNotContain(scopes, s => s!.Contains("scope-test", StringComparison.Ordinal));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }
}
