using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;
using Qwen.Inference.Scheduling;
using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Conversion;
using Xunit.Abstractions;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>How a KV budget becomes rows × positions, and what the default budget gives Qwen-7B on this machine.</summary>
public sealed class KvCachePlanTests(ITestOutputHelper output)
{
    private const long GiB = 1L << 30;

    /// <summary>A manifest as <c>model-prep convert</c> writes it for <paramref name="preset"/>, without converting any weights.</summary>
    private static ModelManifest Manifest(CheckpointPreset preset, ModelDtype dtype, ModelTarget target = ModelTarget.Cpu, long weightBytes = 0)
    {
        var options = new ConvertOptions { Input = "", Output = "", Dtype = dtype, Target = target };
        return new ModelManifest
        {
            Name = preset.Name,
            Architecture = CheckpointGenerator.Architecture(preset, "v1.1"),
            Dtype = dtype.ToString().ToLowerInvariant(),
            Target = target.ToString().ToLowerInvariant(),
            Tokenizer = new TokenizerInfo(),
            Generation = new GenerationDefaults(),
            Io = PackageConverter.GraphIoFor(options),
            Files = [new PackageFile("model.onnx.data", weightBytes, ""), new PackageFile("genai/model.onnx.data", 1L << 40, "")],
        };
    }

    /// <summary>
    /// Bytes of model.onnx.data for an int4 conversion with the defaults (block 128, symmetric, 8-bit lm_head, float16
    /// embedding), from the tensor shapes config.json implies: 4-bit weights take 64 bytes per block of 128 plus one scale.
    /// </summary>
    private static long Int4DataBytes(ModelArchitecture a, int scaleBytes)
    {
        const int block = 128;
        long Quantized(long rows, long cols, int bits) => rows * ((cols + block - 1) / block) * (block * bits / 8 + scaleBytes);
        long h = a.HiddenSize, inter = a.IntermediateSize, v = a.VocabSize;
        var layer = Quantized(3 * h, h, 4) + Quantized(h, h, 4) + 2 * Quantized(inter, h, 4) + Quantized(h, inter, 4)
            + (2 * h + 3 * h) * scaleBytes; // two norms and the QKV bias, in the activation type
        return v * h * 2 + a.NumLayers * layer + h * scaleBytes + Quantized(v, h, 8);
    }

    [Fact]
    public void Create_Default7bInt4On24GiBMachine_ServesAtLeast2048PositionsPerRow()
    {
        var arch = CheckpointGenerator.Architecture(CheckpointPreset.Qwen7B, "v1.1");
        var manifest = Manifest(CheckpointPreset.Qwen7B, ModelDtype.Int4, weightBytes: Int4DataBytes(arch, scaleBytes: 4));

        var plan = KvCachePlan.Create(manifest, new QwenSchedulerOptions(), memoryLimitBytes: 24 * GiB);

        output.WriteLine($"7b int4 (cpu target), weights {KvCachePlan.WeightBytesOf(manifest) / 1e9:N2} GB: {plan.Describe(ExecutionProvider.Cpu)}");
        output.WriteLine($"with this process's limit ({KvCachePlan.ProcessMemoryLimitBytes() / (double)GiB:N2} GiB): {KvCachePlan.Create(manifest, new QwenSchedulerOptions()).Describe(ExecutionProvider.Cpu)}");
        // fp32 KV: 2 × 32 layers × 32 heads × 128 × 4 bytes = 1 MiB per position per row (the arithmetic of the issue).
        Assert.Equal(1L << 20, plan.BytesPerPosition);
        Assert.True(plan.Positions >= 2048, $"{plan.Positions} positions per row");
        Assert.Equal(KvCachePlan.DefaultContextCap, plan.Positions);
        Assert.Equal(2, plan.Rows);
        Assert.True(plan.Bytes <= plan.BudgetBytes);
        // The whole default budget is half of what the weights leave: weights + cache stay within 75% of the machine.
        Assert.True(KvCachePlan.WeightBytesOf(manifest) + plan.BudgetBytes <= 0.75 * 24 * GiB);
    }

    [Fact]
    public void Create_Default7bCudaInt4_HasFp16CacheOfHalfTheSize()
    {
        var arch = CheckpointGenerator.Architecture(CheckpointPreset.Qwen7B, "v1.1");
        var manifest = Manifest(CheckpointPreset.Qwen7B, ModelDtype.Int4, ModelTarget.Cuda, Int4DataBytes(arch, scaleBytes: 2));

        var plan = KvCachePlan.Create(manifest, new QwenSchedulerOptions(), memoryLimitBytes: 24 * GiB);

        Assert.Equal("float16", plan.KvDtype);
        Assert.Equal(512L << 10, plan.BytesPerPosition);
        Assert.Equal(4, plan.Rows);
        Assert.Equal(4096, plan.Positions);
    }

    [Fact]
    public void Create_NoBudget_TakesHalfOfTheProcessMemoryLeftAfterTheWeights()
    {
        var manifest = Manifest(CheckpointPreset.Tiny, ModelDtype.Fp32, weightBytes: 3 * GiB);

        var plan = KvCachePlan.Create(manifest, new QwenSchedulerOptions());

        var limit = KvCachePlan.ProcessMemoryLimitBytes();
        output.WriteLine($"process memory limit {limit / (double)GiB:N2} GiB; {plan.Describe(ExecutionProvider.Cpu)}");
        Assert.True(limit > 3 * GiB, $"limit {limit}");
        Assert.True(plan.BudgetIsDefault);
        // The GenAI copy of the weights (1 TiB in this manifest) is never loaded, so it is not subtracted.
        Assert.Equal((long)((limit - 3 * GiB) * KvCachePlan.DefaultBudgetShare), plan.BudgetBytes);
    }

    [Fact]
    public void Create_SmallBudget_DropsRowsBeforeShorteningTheRow()
    {
        var manifest = Manifest(CheckpointPreset.Tiny, ModelDtype.Fp32);
        var perPosition = KvCachePlan.BytesPerPositionOf(manifest); // 2 × 2 layers × 2 heads × 128 × 4 = 4 KiB
        Assert.Equal(4096, perPosition);
        QwenSchedulerOptions Options(long budget) => new() { Scheduling = new SchedulerOptions { MaxBatchSize = 8, KvCacheBudgetBytes = budget } };

        var threeRows = KvCachePlan.Create(manifest, Options(3 * 4096 * perPosition + 100));
        var oneShortRow = KvCachePlan.Create(manifest, Options(100 * perPosition));
        var full = KvCachePlan.Create(manifest, Options(64 * GiB));

        Assert.Equal((3, 4096), (threeRows.Rows, threeRows.Positions));
        Assert.Equal((1, 100), (oneShortRow.Rows, oneShortRow.Positions));
        Assert.Equal((8, 4096), (full.Rows, full.Positions));
        Assert.False(full.BudgetIsDefault);
        Assert.Contains("1 rows × 100 positions", oneShortRow.Describe(ExecutionProvider.Cpu), StringComparison.Ordinal);
    }

    [Fact]
    public void Create_ConfiguredContext_IsKeptAndBoundsMemory()
    {
        var manifest = Manifest(CheckpointPreset.Tiny, ModelDtype.Fp32);

        var plan = KvCachePlan.Create(manifest, new QwenSchedulerOptions
        {
            Runtime = new ModelRuntimeOptions { ContextLength = 8192 },
            Scheduling = new SchedulerOptions { MaxBatchSize = 4, KvCacheBudgetBytes = 2 * 8192 * 4096L },
        });

        Assert.Equal((2, 8192), (plan.Rows, plan.Positions));
    }

    [Fact]
    public void Create_DirectML_KeepsOneRowSoEveryViewStartsAtTheBuffer()
    {
        var manifest = Manifest(CheckpointPreset.Tiny, ModelDtype.Fp32);

        var plan = KvCachePlan.Create(manifest, new QwenSchedulerOptions
        {
            Runtime = new ModelRuntimeOptions { ExecutionProvider = ExecutionProvider.DirectML },
            Scheduling = new SchedulerOptions { MaxBatchSize = 8, KvCacheBudgetBytes = 64 * GiB },
        });

        Assert.Equal((1, 4096), (plan.Rows, plan.Positions));
    }

    [Fact]
    public void Create_BudgetBelowTwoPositions_FailsWithBothNumbers()
    {
        var manifest = Manifest(CheckpointPreset.Tiny, ModelDtype.Fp32);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => KvCachePlan.Create(manifest,
            new QwenSchedulerOptions { Scheduling = new SchedulerOptions { KvCacheBudgetBytes = 5000 } }));

        Assert.Contains("5,000 bytes holds 1 positions", ex.Message, StringComparison.Ordinal);
        Assert.Contains("4,096 bytes per position", ex.Message, StringComparison.Ordinal);
    }
}
