using System.Text;
using System.Text.Json.Nodes;
using Qwen.ModelPrep.Checkpoints;

namespace Qwen.ModelPrep.Tests.Checkpoints;

public class SafetensorsCheckpointReaderTests
{
    [Theory]
    [InlineData("v1.0", 1, SafetensorsDtype.BF16)]
    [InlineData("v1.1", 1, SafetensorsDtype.F16)]
    [InlineData("v1.0", 3, SafetensorsDtype.F32)]
    [InlineData("v1.1", 2, SafetensorsDtype.BF16)]
    public async Task Open_GeneratedCheckpoint_ConfigAndTensorsMatchGenerator(string style, int shards, string dtype)
    {
        using var temp = new TempDirectory();
        var dir = await MicroCheckpoint.CreateAsync(temp.Combine("ckpt"), style, shards, dtype);

        using var reader = SafetensorsCheckpointReader.Open(dir);
        var a = reader.Config.Architecture;
        Assert.Equal((16, 2, 8, 2, 12, 32, 8, style), (a.HiddenSize, a.NumHeads, a.HeadDim, a.NumLayers, a.IntermediateSize, a.VocabSize, a.SeqLength, a.ConfigStyle));
        Assert.Equal(1e-6, a.RmsNormEps);
        Assert.Equal(10000, a.RotaryBase);
        Assert.True(a.UseDynamicNtk && a.UseLognAttn);
        Assert.Equal(8192, a.MaxContext);
        Assert.Equal(8 * 2 + 3, reader.TensorNames.Count);
        Assert.Equal(shards, reader.TensorNames.Select(reader.GetFilePath).Distinct().Count());

        // Every row equals the generator's row after rounding to the stored dtype.
        foreach (var name in reader.TensorNames)
        {
            var info = reader.GetInfo(name);
            Assert.Equal(dtype, info.Dtype);
            var values = reader.ReadAll(name);
            var expected = new float[info.Columns];
            for (long r = 0; r < info.Rows; r++)
            {
                CheckpointGenerator.GenerateRow(MicroCheckpoint.Preset, 7, name, r, expected);
                var rounded = RoundTo(dtype, expected);
                Assert.Equal(rounded, values.AsSpan((int)(r * info.Columns), (int)info.Columns).ToArray());
            }
        }
    }

    [Fact]
    public async Task Open_ShardedCheckpoint_IndexListsEveryTensorWithTotalSize()
    {
        using var temp = new TempDirectory();
        var dir = await MicroCheckpoint.CreateAsync(temp.Combine("ckpt"), "v1.0", 2);
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, SafetensorsCheckpointReader.IndexFileName)))!;
        var map = index["weight_map"]!.AsObject();
        Assert.Equal(8 * 2 + 3, map.Count);
        Assert.Equal("model-00001-of-00002.safetensors", (string?)map["transformer.wte.weight"]);
        Assert.Equal("model-00002-of-00002.safetensors", (string?)map["lm_head.weight"]);
        var shardBytes = Directory.GetFiles(dir, "model-*.safetensors").Sum(f => new FileInfo(f).Length);
        var total = (long)index["metadata"]!["total_size"]!;
        Assert.Equal(2L * (32 * 16 * 2) + 2 * (16 + 48 * 16 + 48 + 16 * 16 + 16 + 2 * 12 * 16 + 16 * 12) * 2 + 16 * 2, total);
        Assert.True(shardBytes > total, "shard files also hold headers");
        Assert.False(File.Exists(Path.Combine(dir, SafetensorsCheckpointReader.SingleFileName)));
    }

    [Fact]
    public async Task Open_V10Config_ReadsGenerationConfigOfV10Chat()
    {
        using var temp = new TempDirectory();
        var dir = await MicroCheckpoint.CreateAsync(temp.Combine("ckpt"), "v1.0");
        using var reader = SafetensorsCheckpointReader.Open(dir, maxContext: 100);
        var g = reader.Config.Generation;
        Assert.Equal(("chatml", true, 0.8, 0, 1.0, 512, 6144, 151643), (g.ChatFormat, g.DoSample, g.TopP, g.TopK, g.RepetitionPenalty, g.MaxNewTokens, g.MaxWindowSize, g.EosTokenId));
        Assert.Equal(100, reader.Config.Architecture.MaxContext);
    }

    [Fact]
    public async Task Open_V11Config_ReadsGenerationConfigOfV11Chat()
    {
        using var temp = new TempDirectory();
        var dir = await MicroCheckpoint.CreateAsync(temp.Combine("ckpt"), "v1.1");
        using var reader = SafetensorsCheckpointReader.Open(dir);
        var g = reader.Config.Generation;
        Assert.Equal(("chatml", true, 0.8, 0, 1.1, 512, 6144), (g.ChatFormat, g.DoSample, g.TopP, g.TopK, g.RepetitionPenalty, g.MaxNewTokens, g.MaxWindowSize));
    }

    [Fact]
    public async Task Open_NoGenerationConfig_UsesQwen7BChatDefaults()
    {
        using var temp = new TempDirectory();
        var dir = await MicroCheckpoint.CreateAsync(temp.Combine("ckpt"));
        File.Delete(Path.Combine(dir, "generation_config.json"));
        using var reader = SafetensorsCheckpointReader.Open(dir);
        Assert.Equal(new Qwen.Inference.Packaging.GenerationDefaults(), reader.Config.Generation);
    }

    [Fact]
    public async Task ReadRows_Slice_ReturnsThoseRowsOnly()
    {
        using var temp = new TempDirectory();
        var dir = await MicroCheckpoint.CreateAsync(temp.Combine("ckpt"), dtype: SafetensorsDtype.F32);
        using var reader = SafetensorsCheckpointReader.Open(dir);
        var all = reader.ReadAll("lm_head.weight");
        var slice = new float[3 * 16];
        reader.ReadRows("lm_head.weight", 5, 3, slice);
        Assert.Equal(all.AsSpan(5 * 16, 3 * 16).ToArray(), slice);
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.ReadRows("lm_head.weight", 30, 3, slice));
        var ex = Assert.Throws<ModelPrepException>(() => reader.GetInfo("transformer.h.9.ln_1.weight"));
        Assert.Contains("'transformer.h.9.ln_1.weight' is missing", ex.Message);
    }

    public static TheoryData<string, string> BadCheckpoints => new()
    {
        { "no-config", "config.json is missing" },
        { "no-weights", "has no weights: expected model.safetensors or model.safetensors.index.json" },
        { "llama", "architecture LlamaForCausalLM is not supported; only QWenLMHeadModel" },
        { "config-not-json", "config.json is not valid JSON" },
        { "missing-tensor", "tensor 'transformer.h.1.mlp.w2.weight' is missing" },
        { "wrong-shape", "tensor 'transformer.h.0.attn.c_attn.weight' in " },
        { "header-too-long", "header length 999999 runs past the end" },
        { "header-bad-json", "the safetensors header is not valid JSON" },
        { "truncated-data", "lie outside the" },
        { "tiny-file", "too short for the 8-byte safetensors header length" },
        { "missing-shard", "lists shard model-00002-of-00002.safetensors, which is missing" },
        { "int8-tensor", "has dtype I8; only BF16, F16 and F32 are supported" },
    };

    [Theory]
    [MemberData(nameof(BadCheckpoints))]
    public async Task Open_BadCheckpoint_ThrowsOneLineMessageNamingTheFault(string fault, string expected)
    {
        using var temp = new TempDirectory();
        var dir = await CreateBadCheckpointAsync(temp.Combine("ckpt"), fault);
        var ex = Assert.Throws<ModelPrepException>(() => SafetensorsCheckpointReader.Open(dir).Dispose());
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        if (fault == "wrong-shape")
        {
            Assert.Contains("has shape [48, 8], expected [48, 16] from config.json", ex.Message);
        }
    }

    /// <summary>A micro checkpoint broken in one way (shared with the CLI tests).</summary>
    internal static async Task<string> CreateBadCheckpointAsync(string dir, string fault)
    {
        await MicroCheckpoint.CreateAsync(dir, shards: fault == "missing-shard" ? 2 : 1);
        var weights = Path.Combine(dir, SafetensorsCheckpointReader.SingleFileName);
        var arch = CheckpointGenerator.Architecture(MicroCheckpoint.Preset, "v1.1");
        var specs = QwenTensorLayout.Expected(arch).Select(t => new SafetensorsTensorSpec(t.Name, SafetensorsDtype.BF16, t.Shape)).ToList();
        switch (fault)
        {
            case "no-config":
                File.Delete(Path.Combine(dir, "config.json"));
                break;
            case "no-weights":
                File.Delete(weights);
                break;
            case "llama":
                var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
                config["architectures"] = new JsonArray("LlamaForCausalLM");
                File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
                break;
            case "config-not-json":
                File.WriteAllText(Path.Combine(dir, "config.json"), "{ \"architectures\": [");
                break;
            case "missing-tensor":
                RewriteWeights(weights, specs.Where(s => s.Name != "transformer.h.1.mlp.w2.weight").ToList());
                break;
            case "wrong-shape":
                RewriteWeights(weights, specs.Select(s => s.Name == "transformer.h.0.attn.c_attn.weight" ? s with { Shape = [48, 8] } : s).ToList());
                break;
            case "int8-tensor":
                // Written as F32 bytes, then relabelled I8 with a consistent byte count: only the dtype is wrong.
                RewriteWeights(weights, specs.Select(s => s.Name == "transformer.ln_f.weight" ? s with { Dtype = SafetensorsDtype.F32, Shape = [4] } : s).ToList());
                PatchHeader(weights, "\"transformer.ln_f.weight\":{\"dtype\":\"F32\",\"shape\":[4]", "\"transformer.ln_f.weight\":{\"dtype\":\"I8\",\"shape\":[16]");
                break;
            case "header-too-long":
                using (var s = File.OpenWrite(weights))
                {
                    s.Write(BitConverter.GetBytes(999999UL));
                }
                break;
            case "header-bad-json":
                PatchHeader(weights, "{\"__metadata__\"", "[\"__metadata__\"");
                break;
            case "truncated-data":
                using (var s = File.OpenWrite(weights))
                {
                    s.SetLength(s.Length - 100);
                }
                break;
            case "tiny-file":
                File.WriteAllBytes(weights, [1, 2, 3]);
                break;
            case "missing-shard":
                File.Delete(Path.Combine(dir, "model-00002-of-00002.safetensors"));
                break;
            default:
                throw new ArgumentException(fault);
        }
        return dir;
    }

    private static void RewriteWeights(string path, List<SafetensorsTensorSpec> specs)
    {
        File.Delete(path);
        using var writer = new SafetensorsWriter(path, specs);
        writer.Write(new float[specs.Sum(s => s.ElementCount)]);
        writer.Complete();
    }

    private static void PatchHeader(string path, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        var bytes = File.ReadAllBytes(path);
        var text = Encoding.Latin1.GetString(bytes);
        var at = text.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{from}' not found in the header");
        Encoding.Latin1.GetBytes(to).CopyTo(bytes, at);
        File.WriteAllBytes(path, bytes);
    }

    private static float[] RoundTo(string dtype, float[] values)
    {
        var result = new float[values.Length];
        switch (dtype)
        {
            case SafetensorsDtype.BF16:
                var bits = new ushort[values.Length];
                FloatConversion.SingleToBf16(values, bits);
                FloatConversion.Bf16ToSingle(bits, result);
                break;
            case SafetensorsDtype.F16:
                var halves = new Half[values.Length];
                FloatConversion.SingleToHalf(values, halves);
                FloatConversion.HalfToSingle(halves, result);
                break;
            default:
                values.CopyTo(result, 0);
                break;
        }
        return result;
    }
}
