using Microsoft.Extensions.Options;

namespace Qwen.Server.Tests.Forwarding;

/// <summary>A front refuses to start with a service credential it must not send: missing, short, or an unresolved Key Vault reference.</summary>
public sealed class FrontStartupTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("short-worker-key")]
    [InlineData("@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/qwen-worker-key)")]
    public async Task Front_BadWorkerKey_RefusesToStart(string? workerKey)
    {
        string[] args = ["--urls", "http://127.0.0.1:0", "--api-key", FrontAndWorker.ClientKey, "--worker", "http://127.0.0.1:9"];
        await using var app = QwenServerApp.Build(workerKey is null ? args : [.. args, "--worker-key", workerKey]);
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Qwen__Worker__ApiKey", ex.Message, StringComparison.Ordinal);
    }
}
