using Microsoft.Extensions.Options;
using Qwen.Serving.Http;

namespace Qwen.Serving.Forwarding;

/// <summary>Start-up check of the service credential: the same rules as the API keys (<see cref="ApiKeyRules"/>), so a short key or an
/// unresolved Key Vault reference stops the front instead of being sent to the worker.</summary>
public sealed class WorkerForwardingOptionsRules : IValidateOptions<WorkerForwardingOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, WorkerForwardingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BaseUri is null)
        {
            return ValidateOptionsResult.Success;
        }
        return ApiKeyRules.Problem("Qwen:Worker:ApiKey (--worker-key, app setting Qwen__Worker__ApiKey)", options.ApiKey) is { } problem
            ? ValidateOptionsResult.Fail(problem)
            : string.IsNullOrEmpty(options.ApiKey)
                ? ValidateOptionsResult.Fail("A worker is configured (Qwen:Worker:BaseUri) but no service credential (--worker-key, app setting Qwen__Worker__ApiKey); the worker would refuse every request.")
                : ValidateOptionsResult.Success;
    }
}
