using System.Text;
using System.Text.Json;
using Qwen.Inference.Constraints;
using Qwen.Inference.Generation;
using Qwen.Inference.Runtime;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;
using Qwen.Inference.Tokenization;
using Qwen.Inference.Tests.Constraints;
using Qwen.Inference.Tests.Tokenization;
using Qwen.ModelPrep.Conversion;
using Qwen.Testing;
using Xunit.Abstractions;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>Constrained decoding in the serving engine: random weights sampled at temperature 1 always give schema-valid JSON; the trained model's JSON parses when it finishes.</summary>
public sealed class ConstrainedGenerationTests(ITestOutputHelper output)
{
    private const int Seeds = 16;

    private static readonly int[] Prompt = [.. SharedTokenizer.Instance.Encode("Answer in JSON: what is the colour of the sky?")];

    private static QwenScheduler Create(string package, int context) => QwenScheduler.Load(package, new QwenSchedulerOptions
    {
        Runtime = new ModelRuntimeOptions { ContextLength = context, IntraOpThreads = 1 },
        Scheduling = new SchedulerOptions { MaxBatchSize = 4, MaxQueueLength = 64, EnablePrefixReuse = false },
    });

    private static GenerationRequest Request(TokenConstraint constraint, int seed, int maxTokens, IReadOnlyList<int>? prompt = null) => new()
    {
        PromptTokens = prompt ?? Prompt,
        MaxNewTokens = maxTokens,
        Sampling = new SamplingOptions { Temperature = 1, TopP = 1, Seed = seed },
        Constraint = constraint,
        // Ignored while a constraint is set: a stop string must never cut a JSON value.
        StopStrings = ["\"", "}"],
    };

    /// <summary>The raw bytes of the generated tokens (a Length finish can end inside a character).</summary>
    private static byte[] Bytes(GenerationResult result)
        => [.. result.Tokens.Where(t => !SharedTokenizer.Instance.IsSpecial(t.Id)).SelectMany(t => SharedTokenizer.Instance.GetTokenBytes(t.Id))];

    /// <summary>True when <paramref name="bytes"/> is a prefix of some JSON text (System.Text.Json's reader, told more may come).</summary>
    private static bool IsJsonPrefix(byte[] bytes)
    {
        var reader = new Utf8JsonReader(bytes, isFinalBlock: false, default);
        try
        {
            while (reader.Read())
            {
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static TheoryData<string, string> Schemas => new()
    {
        { "enum", """{"enum":["red","green","blue",7,null,{"deep":[true]}]}""" },
        { "const", """{"type":"object","properties":{"v":{"const":"ok"},"n":{"const":3}},"required":["v","n"],"additionalProperties":false}""" },
        { "nested", """{"type":"object","properties":{"user":{"type":"object","properties":{"role":{"enum":["admin","guest"]},"active":{"type":"boolean"},"nick":{"type":["string","null"],"maxLength":3}},"required":["role","active"],"additionalProperties":false}},"required":["user"],"additionalProperties":false}""" },
        { "array", """{"type":"array","items":{"enum":["a","b"]},"minItems":1,"maxItems":3}""" },
        { "anyOf", """{"anyOf":[{"type":"null"},{"type":"string","maxLength":3},{"type":"boolean"},{"type":"object","properties":{"k":{"const":1}},"required":["k"],"additionalProperties":false}]}""" },
        { "maxLength", """{"type":"object","properties":{"code":{"type":"string","minLength":1,"maxLength":4},"tags":{"type":"array","items":{"type":"string","maxLength":2},"maxItems":2}},"required":["code","tags"],"additionalProperties":false}""" },
    };

    [Theory]
    [MemberData(nameof(Schemas))]
    public async Task GenerateAsync_SchemaOnRandomWeights_EverySampleParsesAndValidates(string name, string schemaJson)
    {
        var schema = JsonDocument.Parse(schemaJson).RootElement;
        var constraint = TokenConstraint.Create(Grammar.JsonSchema(schema), SharedTokenizer.Instance);
        await using var engine = Create(await TinyPackage.FullVocabularyLongAsync(), 256);

        var results = await Task.WhenAll(Enumerable.Range(1, Seeds).Select(seed => engine.CompleteAsync(Request(constraint, seed, 200))));

        var distinct = new HashSet<string>();
        foreach (var result in results)
        {
            Assert.True(result.FinishReason == FinishReason.Stop, $"{name}: finished with {result.FinishReason} after {result.Tokens.Count} tokens: {result.Text}");
            Assert.Equal(Encoding.UTF8.GetString(Bytes(result)), result.Text);
            using var document = JsonDocument.Parse(result.Text);
            Assert.Null(JsonSchemaSubset.Validate(document.RootElement, schema));
            // The grammar ended the generation: no end token was sampled.
            Assert.DoesNotContain(result.Tokens, t => t.Id >= QwenTokenizer.SpecialStartId);
            distinct.Add(result.Text);
        }
        output.WriteLine($"{name}: {distinct.Count} distinct outputs of {Seeds}, e.g. {results[0].Text}");
        Assert.True(distinct.Count > 1, "sampling at temperature 1 gave one output for every seed");
    }

    [Fact]
    public async Task GenerateAsync_JsonObjectOnRandomWeights_ValidPrefixOrCompleteObject()
    {
        var constraint = TokenConstraint.Create(Grammar.JsonObject(), SharedTokenizer.Instance);
        await using var engine = Create(await TinyPackage.FullVocabularyLongAsync(), 256);

        var results = await Task.WhenAll(Enumerable.Range(1, 8).Select(seed => engine.CompleteAsync(Request(constraint, seed, 40))));

        foreach (var result in results)
        {
            var bytes = Bytes(result);
            Assert.Equal((byte)'{', bytes[0]);
            if (result.FinishReason == FinishReason.Stop)
            {
                using var document = JsonDocument.Parse(bytes);
                Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
            }
            else
            {
                Assert.Equal(FinishReason.Length, result.FinishReason);
                Assert.Equal(40, result.Tokens.Count);
                Assert.True(IsJsonPrefix(bytes), $"not a JSON prefix: {result.Text}");
            }
        }
    }

    [Fact]
    public async Task GenerateAsync_Logprobs_AreOfTheMaskedDistribution()
    {
        var constraint = TokenConstraint.Create(Grammar.JsonSchema(JsonDocument.Parse("""{"enum":["yes","no"]}""").RootElement), SharedTokenizer.Instance);
        await using var engine = Create(await TinyPackage.FullVocabularyLongAsync(), 256);

        var result = await engine.CompleteAsync(Request(constraint, 3, 10) with { Logprobs = true, TopLogprobs = 20, Sampling = SamplingOptions.Greedy });

        Assert.Equal(FinishReason.Stop, result.FinishReason);
        Assert.Contains(result.Text, new[] { "\"yes\"", "\"no\"" });
        var first = result.Tokens[0];
        // Only tokens that start "yes" or "no" (with the quote) survive the mask: their probabilities sum to 1.
        Assert.All(first.TopLogprobs, alternative => Assert.StartsWith("\"", SharedTokenizer.Instance.Decode([alternative.Id]), StringComparison.Ordinal));
        Assert.InRange(first.TopLogprobs.Sum(a => Math.Exp(a.Logprob)), 0.999, 1.001);
    }

    [Fact]
    public async Task GenerateAsync_JsonObjectOnTrainedModel_ParsesWhenFinished()
    {
        var constraint = TokenConstraint.Create(Grammar.JsonObject(), SharedTokenizer.Instance);
        await using var engine = Create(await TrainedModel.GetPackageAsync(ModelDtype.Fp32), TrainedModel.SeqLength);
        // The model was trained on Python: a json.dumps( call is where a dict literal would follow.
        var prompt = SharedTokenizer.Instance.Encode("    return json.dumps(");
        var maxTokens = TrainedModel.SeqLength - prompt.Count - 1;

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(seed => engine.CompleteAsync(Request(constraint, seed, maxTokens, prompt) with
        {
            Sampling = seed == 0 ? SamplingOptions.Greedy : new SamplingOptions { Temperature = 0.5, TopP = 0.95, Seed = seed },
        })));

        var finished = 0;
        foreach (var result in results)
        {
            var bytes = Bytes(result);
            if (result.FinishReason == FinishReason.Stop)
            {
                finished++;
                using var document = JsonDocument.Parse(bytes);
                Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
            }
            else
            {
                Assert.Equal(FinishReason.Length, result.FinishReason);
                Assert.Equal(maxTokens, result.Tokens.Count);
                Assert.True(IsJsonPrefix(bytes), $"not a JSON prefix: {result.Text}");
            }
        }
        output.WriteLine($"trained model, json_object: {finished} of {results.Length} finished within {maxTokens} tokens; greedy: {results[0].FinishReason} {results[0].Text}");
        // Greedy closes the object on this package (checked when written), so the parse branch is exercised.
        Assert.Equal(FinishReason.Stop, results[0].FinishReason);
    }
}
