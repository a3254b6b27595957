using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Qwen.ModelPrep.Conversion;
using Qwen.Testing;
using Qwen.Testing.Reference;

namespace Qwen.Server.Tests.Http;

/// <summary>
/// Prompt log-probabilities as lm-evaluation-harness reads them (OpenAI legacy / vLLM shape), on the trained model
/// through the standalone server, against the float64 reference at every position.
/// </summary>
public sealed class PromptLogprobsTests : IAsyncLifetime
{
    // Longer than seq_length 128, so dynamic NTK (α = 3) and LogN are both active.
    private const int PromptLength = 200;
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var package = await TrainedModel.GetPackageAsync(ModelDtype.Fp32);
        _app = QwenServerApp.Build(["--model", package, "--urls", "http://127.0.0.1:0", "--threads", "1"]);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(120) };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task EchoLogprobsMaxTokensZero_HeldOutText_EqualsReferenceAtEveryPosition()
    {
        var prompt = TrainedModel.Windows(1, PromptLength)[0];
        using var response = await PostAsync(Body(prompt, maxTokens: 0, logprobs: 5));
        var choice = response.RootElement.GetProperty("choices")[0];
        var logprobs = choice.GetProperty("logprobs");
        var tokenLogprobs = logprobs.GetProperty("token_logprobs");
        var top = logprobs.GetProperty("top_logprobs");
        Assert.Equal(PromptLength, tokenLogprobs.GetArrayLength());
        Assert.Equal(PromptLength, logprobs.GetProperty("tokens").GetArrayLength());
        Assert.Equal(PromptLength, logprobs.GetProperty("text_offset").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, tokenLogprobs[0].ValueKind);
        Assert.Equal(JsonValueKind.Null, top[0].ValueKind);
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(0, response.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(PromptLength, response.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        using var reference = ReferenceModel.Load(await TrainedModel.GetCheckpointAsync());
        var logits = reference.StartSequence().Forward(prompt);
        var worst = 0.0;
        var greedyAgree = 0;
        for (var t = 1; t < PromptLength; t++)
        {
            var expected = Qwen.Testing.Reference.ReferenceSequence.LogSoftmaxAt(logits[t - 1], prompt[t]);
            worst = Math.Max(worst, Math.Abs(tokenLogprobs[t].GetDouble() - expected));
            var alternatives = top[t].EnumerateObject().ToArray();
            Assert.InRange(alternatives.Length, 1, 5);
            // The best alternative is the reference's arg-max with its log-probability.
            var best = ReferenceModel.ArgMax(logits[t - 1]);
            Assert.Equal(Qwen.Testing.Reference.ReferenceSequence.LogSoftmaxAt(logits[t - 1], best), alternatives[0].Value.GetDouble(), 4);
            // lm-evaluation-harness's is_greedy (token log-prob equals the best alternative's) matches the reference's arg-max.
            var isGreedy = tokenLogprobs[t].GetDouble() >= alternatives[0].Value.GetDouble() - 1e-5;
            Assert.Equal(best == prompt[t], isGreedy);
            greedyAgree += isGreedy ? 1 : 0;
        }
        Assert.True(worst <= 1e-4, $"largest |log-prob − reference| = {worst:E2}");
        // Trained weights: some held-out tokens are the greedy choice, not all.
        Assert.InRange(greedyAgree, 1, PromptLength - 2);
    }

    [Fact]
    public async Task EchoLogprobsMaxTokensOne_LmEvalHarnessRequest_PromptEntriesThenOneGenerated()
    {
        var prompt = TrainedModel.Windows(3, 40)[1];
        using var scored = await PostAsync(Body(prompt, maxTokens: 0, logprobs: 1));
        using var harness = await PostAsync(Body(prompt, maxTokens: 1, logprobs: 1));
        var expected = scored.RootElement.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("token_logprobs");
        var actual = harness.RootElement.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("token_logprobs");
        Assert.Equal(prompt.Length + 1, actual.GetArrayLength());
        for (var t = 1; t < prompt.Length; t++)
        {
            Assert.Equal(expected[t].GetDouble(), actual[t].GetDouble(), 12);
        }
        Assert.Equal(JsonValueKind.Number, actual[prompt.Length].ValueKind);
    }

    [Theory]
    [InlineData("{\"prompt\":[1,2,3],\"max_tokens\":0}", "max_tokens")]
    [InlineData("{\"prompt\":[1,2,3],\"max_tokens\":0,\"echo\":true,\"logprobs\":1,\"stream\":true}", "max_tokens")]
    public async Task MaxTokensZero_WithoutEchoOrWithStream_Is400(string body, string param)
    {
        using var response = await _client.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(param, error.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    private static string Body(int[] prompt, int maxTokens, int logprobs) =>
        $"{{\"model\":\"qwen-tiny-py\",\"prompt\":[{string.Join(',', prompt)}],\"max_tokens\":{maxTokens},\"echo\":true,\"logprobs\":{logprobs},\"temperature\":0}}";

    private async Task<JsonDocument> PostAsync(string body)
    {
        using var response = await _client.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text);
    }
}
