using Qwen.Serving.Http;

namespace Qwen.Serving.Tests.Http;

public sealed class ApiKeyRulesTests
{
    private static readonly string GoodKey = new('k', ApiKeyRules.MinimumLength);

    [Theory]
    [InlineData("0123456789", "is 10 characters; use at least 32")]
    [InlineData("@Microsoft.KeyVault(SecretUri=https://kv-qwen.vault.azure.net/secrets/qwen-api-key/)", "unresolved Key Vault reference")]
    [InlineData(" @microsoft.keyvault(VaultName=kv-qwen;SecretName=qwen-api-key)", "unresolved Key Vault reference")]
    [InlineData("https://kv-qwen.vault.azure.net/secrets/qwen-api-key/0123456789abcdef", "unresolved Key Vault reference")]
    public void Validate_BadKey_FailsNamingSettingAndFix(string key, string expected)
    {
        var result = new ApiKeyRules().Validate(null, new HttpApiOptions { ApiKey = key });

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Qwen:Serving:ApiKey", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Trim(), result.FailureMessage, StringComparison.Ordinal); // the key itself is never echoed
    }

    [Fact]
    public void Validate_OneShortKeyAmongSeveral_FailsNamingIt()
    {
        var result = new ApiKeyRules().Validate(null, new HttpApiOptions { ApiKey = GoodKey, ApiKeys = [GoodKey, "short"] });

        Assert.True(result.Failed);
        Assert.Contains("Qwen:Serving:ApiKeys:1 is 5 characters", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Validate_NoKey_Succeeds(string? key) =>
        Assert.True(new ApiKeyRules().Validate(null, new HttpApiOptions { ApiKey = key }).Succeeded);

    [Fact]
    public void Validate_LongRandomKeys_Succeed() =>
        Assert.True(new ApiKeyRules().Validate(null, new HttpApiOptions { ApiKey = GoodKey, ApiKeys = [GoodKey + "2"] }).Succeeded);
}
