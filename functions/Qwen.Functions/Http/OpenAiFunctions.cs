using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Qwen.Serving.Forwarding;
using Qwen.Serving.Http;

namespace Qwen.Functions.Http;

/// <summary>The OpenAI-compatible API as HTTP-triggered functions: thin adapters over the shared handlers (<see cref="ChatCompletionsHandler"/> and its siblings; ASP.NET Core integration),
/// or, in the API role (<c>Qwen__Worker__BaseUri</c> set), over <see cref="WorkerForwarder"/>, which checks the client's key and
/// streams the request to the GPU worker and its answer back.</summary>
/// <remarks>
/// Every function is <see cref="AuthorizationLevel.Anonymous"/> and the app checks its own key (app setting
/// <c>Qwen__Serving__ApiKey</c>, a Key Vault reference in Azure). Function keys would need <c>x-functions-key</c> or
/// <c>?code=</c>, which OpenAI clients never send; the app's check accepts the one key as <c>Authorization: Bearer</c>
/// (OpenAI SDKs) or <c>api-key</c> (Azure OpenAI SDKs). With no key configured every request gets 401.
/// </remarks>
public sealed class OpenAiFunctions(
    ChatCompletionsHandler chat, CompletionsHandler completions, ModelsHandler models, TokenizerHandler tokenizer, HealthHandler health, WorkerForwarder forwarder)
{
    [Function(nameof(ChatCompletions))]
    public async Task<IActionResult> ChatCompletions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = HttpApiRoutes.ChatCompletions)] HttpRequest request)
    {
        await (forwarder.IsEnabled
            ? forwarder.ForwardAsync(request.HttpContext, "forward_chat_completions")
            : chat.ChatCompletionsAsync(request.HttpContext)).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(AzureChatCompletions))]
    public async Task<IActionResult> AzureChatCompletions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = HttpApiRoutes.AzureChatCompletions)] HttpRequest request,
        string deployment)
    {
        await (forwarder.IsEnabled
            ? forwarder.ForwardAsync(request.HttpContext, "forward_azure_chat_completions")
            : chat.AzureChatCompletionsAsync(request.HttpContext, deployment)).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(Completions))]
    public async Task<IActionResult> Completions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = HttpApiRoutes.Completions)] HttpRequest request)
    {
        await (forwarder.IsEnabled
            ? forwarder.ForwardAsync(request.HttpContext, "forward_completions")
            : completions.CompletionsAsync(request.HttpContext)).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(Models))]
    public async Task<IActionResult> Models(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = HttpApiRoutes.Models)] HttpRequest request)
    {
        await (forwarder.IsEnabled
            ? forwarder.ForwardAsync(request.HttpContext, "forward_models")
            : models.ModelsAsync(request.HttpContext)).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(Model))]
    public async Task<IActionResult> Model(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = HttpApiRoutes.Model)] HttpRequest request,
        string model)
    {
        await (forwarder.IsEnabled
            ? forwarder.ForwardAsync(request.HttpContext, "forward_models")
            : models.ModelAsync(request.HttpContext, model)).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(Tokenize))]
    public async Task<IActionResult> Tokenize(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = HttpApiRoutes.Tokenize)] HttpRequest request)
    {
        await (forwarder.IsEnabled
            ? forwarder.ForwardAsync(request.HttpContext, "forward_tokenize")
            : tokenizer.TokenizeAsync(request.HttpContext)).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(Detokenize))]
    public async Task<IActionResult> Detokenize(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = HttpApiRoutes.Detokenize)] HttpRequest request)
    {
        await (forwarder.IsEnabled
            ? forwarder.ForwardAsync(request.HttpContext, "forward_detokenize")
            : tokenizer.DetokenizeAsync(request.HttpContext)).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(ApplyTemplate))]
    public async Task<IActionResult> ApplyTemplate(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = HttpApiRoutes.ApplyTemplate)] HttpRequest request)
    {
        await (forwarder.IsEnabled
            ? forwarder.ForwardAsync(request.HttpContext, "forward_apply_template")
            : tokenizer.ApplyTemplateAsync(request.HttpContext)).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(Health))]
    public async Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = HttpApiRoutes.Health)] HttpRequest request)
    {
        await health.HealthAsync(request.HttpContext).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(Ready))]
    public async Task<IActionResult> Ready(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = HttpApiRoutes.Ready)] HttpRequest request)
    {
        await (forwarder.IsEnabled
            ? forwarder.ForwardAsync(request.HttpContext, "ready", authorize: false)
            : health.ReadyAsync(request.HttpContext)).ConfigureAwait(false);
        return new EmptyResult();
    }

    [Function(nameof(Metrics))]
    public async Task<IActionResult> Metrics(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = HttpApiRoutes.Metrics)] HttpRequest request)
    {
        await health.MetricsAsync(request.HttpContext).ConfigureAwait(false);
        return new EmptyResult();
    }
}
