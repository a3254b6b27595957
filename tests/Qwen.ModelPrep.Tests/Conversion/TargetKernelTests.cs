using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Qwen.Inference.Packaging;
using Qwen.ModelPrep.Conversion;
using Qwen.ModelPrep.Onnx.Proto;
using Qwen.Testing;
using Xunit.Abstractions;

namespace Qwen.ModelPrep.Tests.Conversion;

/// <summary>
/// <c>convert --target cuda</c>: every node of the graph is an operator and type that ONNX Runtime registers for CUDA
/// (and for DirectML, the Windows GPU provider), checked against kernel tables transcribed from ONNX Runtime's
/// docs/OperatorKernels.md (tests/Qwen.ModelPrep.Tests/Conversion/Kernels, source recorded in each file).
/// </summary>
public sealed class TargetKernelTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-target-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> ConvertAsync(ModelDtype dtype, ModelTarget target, int lmHeadBits = 8)
    {
        var input = Directory.CreateDirectory(Path.Combine(_dir, "ckpt")).FullName;
        File.WriteAllText(Path.Combine(input, "qwen.tiktoken"), "IQ== 0\n");
        var output = Path.Combine(_dir, $"pkg-{dtype}-{target}-{lmHeadBits}".ToLowerInvariant());
        using var reader = FakeCheckpointReader.Create(FakeCheckpointReader.Architecture());
        await new PackageConverter(_ => reader).ConvertAsync(new ConvertOptions
        {
            Input = input, Output = output, Dtype = dtype, Target = target, LmHeadBits = lmHeadBits,
        });
        return output;
    }

    private static ModelProto Graph(string package) =>
        ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(package, PackageConverter.ModelFile)));

    public static TheoryData<ModelDtype, int> CudaPackages => new()
    {
        { ModelDtype.Int4, 8 },
        { ModelDtype.Int4, 16 },
        { ModelDtype.Fp16, 8 },
    };

    [Theory]
    [MemberData(nameof(CudaPackages))]
    public async Task Convert_TargetCuda_EveryNodeIsOnTheCudaKernelListForItsTypes(ModelDtype dtype, int lmHeadBits)
    {
        var package = await ConvertAsync(dtype, ModelTarget.Cuda, lmHeadBits);
        var graph = Graph(package);
        var table = KernelTable.Load("cuda");

        var problems = table.Check(graph);

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        // What the check walked: fp16 attention over an fp16 cache, fp32 logits.
        var ops = graph.Graph.Node.Select(n => n.OpType).Distinct().Order(StringComparer.Ordinal).ToList();
        output.WriteLine($"{dtype} lm_head {lmHeadBits}: {graph.Graph.Node.Count} nodes, ops {string.Join(", ", ops)}");
        Assert.Contains("GroupQueryAttention", ops);
        Assert.Contains("SkipSimplifiedLayerNormalization", ops);
        Assert.Equal(dtype == ModelDtype.Int4, ops.Contains("MatMulNBits"));
        Assert.Equal("float16", KernelTable.TypeName(graph.Graph.Input.Single(i => i.Name == "past_key_values.0.key").Type.TensorType.ElemType));
        Assert.Equal("float", KernelTable.TypeName(graph.Graph.Output.Single(o => o.Name == "logits").Type.TensorType.ElemType));
        var manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(package, ModelManifest.FileName)), PackageConverter.ManifestSerializerOptions)!;
        Assert.Equal("cuda", manifest.Target);
        Assert.Equal("float16", manifest.Io.KvDtype);
    }

    [Theory]
    [MemberData(nameof(CudaPackages))]
    public async Task Convert_TargetCuda_EveryNodeIsOnTheDirectMLKernelListForItsTypes(ModelDtype dtype, int lmHeadBits)
    {
        var graph = Graph(await ConvertAsync(dtype, ModelTarget.Cuda, lmHeadBits));

        var problems = KernelTable.Load("directml").Check(graph);

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task Convert_TargetCpuInt4_FailsTheCudaKernelListAtAttention()
    {
        // The default package keeps fp32 activations: the CUDA table has no float GroupQueryAttention, so the check must fail.
        var graph = Graph(await ConvertAsync(ModelDtype.Int4, ModelTarget.Cpu));

        var problems = KernelTable.Load("cuda").Check(graph);

        Assert.NotEmpty(problems);
        Assert.All(problems, p => Assert.Contains("GroupQueryAttention", p, StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("query is float; T admits bfloat16, float16", StringComparison.Ordinal));
        Assert.Empty(KernelTable.Load("directml").Check(graph)); // DirectML registers float attention too
    }

    [Fact]
    public async Task Convert_TargetCudaFp32_IsRefusedNamingTheKernel()
    {
        var ex = await Assert.ThrowsAsync<ModelPrepException>(() => ConvertAsync(ModelDtype.Fp32, ModelTarget.Cuda));

        Assert.Contains("GroupQueryAttention", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--dtype fp16 or int4", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Where ONNX Runtime's CPU provider has no float16 kernel it inserts Casts and runs that node in float32. This lists
    /// those operators for the CUDA package, from the graph the session actually runs; docs/package-format.md names them.
    /// </summary>
    [Fact]
    public async Task Convert_TargetCudaInt4OnCpu_OnlyTheDocumentedOperatorsRunInFloat32()
    {
        var package = await ConvertAsync(ModelDtype.Int4, ModelTarget.Cuda);
        var original = Graph(package).Graph;
        var optimized = Path.Combine(_dir, "cpu-session.onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, OptimizedModelFilePath = optimized })
        using (new InferenceSession(Path.Combine(package, PackageConverter.ModelFile), options))
        {
        }
        var session = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph;
        var ours = original.Node.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var values = original.Node.SelectMany(n => n.Input.Concat(n.Output)).Concat(original.Input.Select(i => i.Name))
            .Concat(original.Initializer.Select(i => i.Name)).ToHashSet(StringComparer.Ordinal);

        // ONNX Runtime wraps a node that has no fp16 CPU kernel in Casts: its inputs and outputs become new float32 values
        // (names the converted graph does not have), and Casts back to float16 restore the original names after it.
        var fallbacks = session.Node
            .Where(n => ours.Contains(n.Name))
            .Where(n => n.Input.Concat(n.Output).Any(v => v.Length > 0 && !values.Contains(v)))
            .Select(n => n.OpType)
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();

        output.WriteLine($"float32 on CPU: {string.Join(", ", fallbacks)}; inserted casts: {session.Node.Count(n => !ours.Contains(n.Name))}");
        Assert.Equal(CpuFloat32Fallbacks, fallbacks);
    }

    /// <summary>Operators of the CUDA package that ONNX Runtime 1.31.1's CPU provider runs in float32 (docs/package-format.md).</summary>
    internal static readonly string[] CpuFloat32Fallbacks = ["Add", "Mul", "Sigmoid", "Sub"];
}
