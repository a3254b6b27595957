namespace Qwen.Serving.Http;

/// <summary>The API's route templates, shared by both hosts (the Functions app has no <c>api/</c> prefix, see host.json).</summary>
public static class HttpApiRoutes
{
    public const string ChatCompletions = "v1/chat/completions";
    public const string AzureChatCompletions = "openai/deployments/{deployment}/chat/completions";
    public const string Completions = "v1/completions";
    public const string Models = "v1/models";
    public const string Model = "v1/models/{model}";
    public const string Tokenize = "tokenize";
    public const string Detokenize = "detokenize";
    public const string ApplyTemplate = "apply-template";
    public const string Health = "health";
    public const string Ready = "ready";
    public const string Metrics = "metrics";
}
