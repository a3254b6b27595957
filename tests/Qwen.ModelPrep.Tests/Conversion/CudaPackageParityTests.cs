using Qwen.Inference.Generation;
using Qwen.Inference.Runtime;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scheduling;
using Qwen.Inference.Tokenization;
using Qwen.ModelPrep.Conversion;
using Qwen.Testing;
using Qwen.Testing.Reference;
using Xunit.Abstractions;

namespace Qwen.ModelPrep.Tests.Conversion;

/// <summary>
/// The <c>--target cuda</c> packages (fp16 activations and KV cache) run on the CPU provider here, where ONNX Runtime's CPU
/// kernels take fp16: logits vs the float64 reference on the same weights (the dequantized int4 weights for int4), and
/// greedy tokens from the serving engine vs the reference's. The tiny checkpoint has S = 64: the 100-token prompt runs
/// with α = 3 and LogN. With <c>QWEN_TEST_EXECUTION_PROVIDER=cuda</c> (eng/gpu-check.sh) the same checks run on CUDA.
/// </summary>
public sealed class CudaPackageParityTests(ITestOutputHelper output)
{
    private const int DecodeSteps = 20;
    private const string Variant = "cuda";

    private static ConvertOptions Cuda(ConvertOptions o) => o with { Target = ModelTarget.Cuda };

    private static Task<string> PackageAsync(ModelDtype dtype) => TestPackages.GetAsync(TestCheckpoint.TinyV11, dtype, Cuda, Variant);

    /// <summary>The reference for <paramref name="dtype"/>: the checkpoint itself (fp16) or its int4-dequantized copy.</summary>
    private static async Task<ReferenceModel> ReferenceAsync(ModelDtype dtype) => ReferenceModel.Load(dtype == ModelDtype.Int4
        ? await DequantizedCheckpoint.GetAsync(TestCheckpoint.TinyV11, Cuda(new ConvertOptions { Input = "", Output = "", Dtype = ModelDtype.Int4 }), Variant)
        : await TestModels.GetCheckpointAsync(TestCheckpoint.TinyV11));

    [Theory]
    [InlineData(ModelDtype.Int4, 24)]
    [InlineData(ModelDtype.Int4, 100)]
    [InlineData(ModelDtype.Fp16, 100)]
    public async Task CudaPackage_OnCpu_PrefillThenDecodeWithin1e2OfReference(ModelDtype dtype, int promptLength)
    {
        var package = await PackageAsync(dtype);
        using var reference = await ReferenceAsync(dtype);
        var vocab = reference.Architecture.VocabSize;
        var rng = new Random(promptLength);
        var prompt = Enumerable.Range(0, promptLength).Select(_ => rng.Next(151643)).ToArray();
        var sequence = reference.StartSequence();
        using var runner = new PackageRunner(package, maxSeq: 160);
        Assert.Equal("float16", runner.Manifest.Io.KvDtype);

        var want = sequence.ForwardLast(prompt);
        var got = runner.Forward(prompt.Select(t => (long)t).ToArray()).AsSpan((promptLength - 1) * vocab, vocab).ToArray();
        var worst = FakeParityTests.RelativeL2(got, want);
        for (var step = 0; step < DecodeSteps; step++)
        {
            var next = ReferenceModel.ArgMax(want);
            want = sequence.ForwardLast([next]);
            worst = Math.Max(worst, FakeParityTests.RelativeL2(runner.Forward([next]), want));
        }

        output.WriteLine($"cuda {dtype} on {TestExecutionProvider.Current}, prompt {promptLength}: worst relative L2 {worst:E2} over prefill + {DecodeSteps} decode steps");
        Assert.True(worst < 1e-2, $"relative L2 {worst:E3} ≥ 1e-2");
    }

    [Theory]
    [InlineData(ModelDtype.Int4)]
    [InlineData(ModelDtype.Fp16)]
    public async Task CudaPackage_OnCpuEngine_GreedyTokensEqualReference(ModelDtype dtype)
    {
        var package = ModelPackage.Open(await PackageAsync(dtype));
        using var reference = await ReferenceAsync(dtype);
        var rng = new Random(9);
        var prompt = Enumerable.Range(0, 40).Select(_ => rng.Next(151643)).ToArray();
        await using var engine = new QwenScheduler(package, QwenTokenizer.Load(package.TokenizerPath), new QwenSchedulerOptions
        {
            Runtime = new ModelRuntimeOptions { IntraOpThreads = 1, ExecutionProvider = TestExecutionProvider.Current },
            Scheduling = new SchedulerOptions { MaxBatchSize = 1, MaxSequenceLength = 128 },
        });

        var result = await engine.CompleteAsync(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 16, Sampling = SamplingOptions.Greedy, StopTokenIds = [] });

        var sequence = reference.StartSequence();
        var logits = sequence.ForwardLast(prompt);
        var expected = new List<int>();
        for (var n = 0; n < 16; n++)
        {
            expected.Add(ReferenceModel.ArgMax(logits.AsSpan(0, QwenTokenizer.VocabCount)));
            logits = sequence.ForwardLast([expected[^1]]);
        }
        Assert.Equal(expected, result.Tokens.Select(t => t.Id));
    }
}
