using System.Text.Json;
using Qwen.Inference.Generation;
using Qwen.Inference.Sampling;
using Qwen.Inference.Tests.Scheduling;
using Qwen.Testing;

namespace Qwen.Inference.Tests.Generation;

/// <summary>The model-prep <c>generate</c> command, run as a real child process on the tiny package.</summary>
[Collection(TinyEngineCollection.Name)]
public sealed class GenerateCommandTests(TinyEngineFixture fixture)
{
    [Fact]
    public async Task Generate_IdsWithJson_PrintsTheEngineGreedyTokensTextAndLogprobs()
    {
        var package = fixture.Package(TestCheckpoint.TinyV11);
        var prompt = QwenSchedulerGenerationTests.Prompt(10);
        var expected = await fixture.Engine(TestCheckpoint.TinyV11).CompleteAsync(new GenerationRequest
        {
            PromptTokens = prompt, MaxNewTokens = 6, Sampling = SamplingOptions.Greedy, Logprobs = true,
        });

        var result = await ModelPrepCli.RunAsync(["generate", "--package", package, "--ids", string.Join(",", prompt), "--max-tokens", "6",
            "--context", "256", "--threads", "1", "--json", "--top-logprobs", "2"]);

        Assert.True(result.ExitCode == 0, result.StandardError);
        using var json = JsonDocument.Parse(result.StandardOutput);
        var root = json.RootElement;
        Assert.Equal(prompt, root.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(expected.Tokens.Select(t => t.Id), root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(expected.Text, root.GetProperty("text").GetString());
        Assert.Equal(expected.FinishReason == FinishReason.Stop ? "stop" : "length", root.GetProperty("finish_reason").GetString());
        var tokens = root.GetProperty("tokens").EnumerateArray().ToArray();
        Assert.Equal(expected.Tokens.Count, tokens.Length);
        for (var i = 0; i < tokens.Length; i++)
        {
            Assert.Equal(expected.Tokens[i].Logprob, tokens[i].GetProperty("logprob").GetSingle(), 4);
            Assert.Equal(2, tokens[i].GetProperty("top_logprobs").GetArrayLength());
        }
    }

    [Fact]
    public async Task Generate_Chat_UsesTheChatMlPromptOfSpecSection51()
    {
        var result = await ModelPrepCli.RunAsync(["generate", "--package", fixture.Package(TestCheckpoint.TinyV11), "--chat", "你好", "--max-tokens", "2",
            "--context", "256", "--threads", "1", "--json"]);
        Assert.True(result.ExitCode == 0, result.StandardError);
        using var json = JsonDocument.Parse(result.StandardOutput);
        int[] expected = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 108386, 151645, 198, 151644, 77091, 198];
        Assert.Equal(expected, json.RootElement.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(2, json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Generate_Cuda_FailsAtStartUpNamingWhatIsMissing()
    {
        var result = await ModelPrepCli.RunAsync(["generate", "--package", fixture.Package(TestCheckpoint.TinyV11), "--ids", "1,2,3", "--provider", "cuda"]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("CUDA execution provider is not available in this build of ONNX Runtime", result.StandardError);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", result.StandardError);
    }

    [Fact]
    public async Task Generate_PromptLongerThanContext_FailsWithBothNumbers()
    {
        var ids = string.Join(",", QwenSchedulerGenerationTests.Prompt(300));
        var result = await ModelPrepCli.RunAsync(["generate", "--package", fixture.Package(TestCheckpoint.TinyV11), "--ids", ids, "--context", "256"]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("300 tokens", result.StandardError);
        Assert.Contains("holds 256", result.StandardError);
    }
}
