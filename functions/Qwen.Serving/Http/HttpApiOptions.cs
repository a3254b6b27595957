namespace Qwen.Serving.Http;

/// <summary>Settings of the OpenAI-compatible API (configuration section <c>Qwen:Serving</c>).</summary>
public sealed class HttpApiOptions
{
    /// <summary>Configuration section the options bind from (<c>Qwen__Serving__*</c> app settings).</summary>
    public const string SectionName = "Qwen:Serving";

    /// <summary>The one key clients send (Authorization: Bearer or api-key). Empty: only loopback callers are served.</summary>
    public string? ApiKey { get; set; }

    /// <summary>More accepted keys (<c>Qwen:Serving:ApiKeys:0</c>, <c>:1</c>, …), one per tenant: each key is its own tenant for prefix-cache reuse and for the ownership of sessions and agent runs.</summary>
    public IList<string> ApiKeys { get; set; } = [];

    /// <summary>With no key set, serve loopback callers. The standalone server allows it; the Functions app must not, because the
    /// Functions host proxies every request to the worker over loopback.</summary>
    public bool AllowLoopbackWithoutKey { get; set; }

    /// <summary>Model id served on /v1/models and accepted in <c>model</c>; empty means the package's name.</summary>
    public string? ModelName { get; set; }

    /// <summary>Largest accepted request body; bigger bodies get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest <c>n</c> (choices per request).</summary>
    public int MaxChoices { get; set; } = 8;

    /// <summary>Seconds suggested in Retry-After when the engine's queue is full and it gives no figure.</summary>
    public int DefaultRetryAfterSeconds { get; set; } = 1;
}
