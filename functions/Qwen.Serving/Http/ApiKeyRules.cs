using Microsoft.Extensions.Options;

namespace Qwen.Serving.Http;

/// <summary>Start-up check of the configured API keys: a key that is short, or an unresolved Key Vault reference, stops the host instead of failing open.</summary>
/// <remarks>
/// When App Service cannot resolve a <c>@Microsoft.KeyVault(SecretUri=…)</c> app setting it passes the literal text
/// through, and that text is derivable from public resource names: accepting it as the key would let anyone in.
/// A short key can be guessed. Either way the host refuses to start, and the message says what to fix.
/// </remarks>
public sealed class ApiKeyRules : IValidateOptions<HttpApiOptions>
{
    /// <summary>Shortest accepted key.</summary>
    public const int MinimumLength = 32;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, HttpApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Check("Qwen:Serving:ApiKey (--api-key, app setting Qwen__Serving__ApiKey)", options.ApiKey, failures);
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            Check($"Qwen:Serving:ApiKeys:{i}", options.ApiKeys[i], failures);
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Why <paramref name="key"/> is refused, or null when it is acceptable (or not set).</summary>
    public static string? Problem(string setting, string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return null;
        }
        var trimmed = key.Trim();
        if (trimmed.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase) || trimmed.Contains("vault.azure.net/secrets/", StringComparison.OrdinalIgnoreCase))
        {
            return $"{setting} holds an unresolved Key Vault reference, so the secret could not be read. Give the app's managed identity the 'Key Vault Secrets User' role on the vault and check the SecretUri; the host will not start with the reference text as its key.";
        }
        if (key.Length < MinimumLength)
        {
            return $"{setting} is {key.Length} characters; use at least {MinimumLength} random characters (for example: openssl rand -base64 32).";
        }
        return null;
    }

    private static void Check(string setting, string? key, List<string> failures)
    {
        if (Problem(setting, key) is { } problem)
        {
            failures.Add(problem);
        }
    }
}
