using Qwen.Testing;
using Qwen.ModelPrep.Conversion;

namespace Qwen.ModelPrep.Tests.Conversion;

public sealed class GenAiGraphTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-genai-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(KvCacheDtype.Fp32)]
    [InlineData(KvCacheDtype.Fp16)]
    public async Task GenAiPackage_GreedyGeneration_MatchesNativeGraph(KvCacheDtype kvDtype)
    {
        // S = 64 ≥ prompt + output, so α = 1 and λ = 1: the fixed-cache GenAI graph must agree with the native one.
        var arch = FakeCheckpointReader.Architecture(hidden: 64, heads: 4, seqLength: 64, maxContext: 64);
        var reader = FakeCheckpointReader.Create(arch, seed: 5);
        var input = Directory.CreateDirectory(Path.Combine(_dir, "ckpt")).FullName;
        File.WriteAllText(Path.Combine(input, "qwen.tiktoken"), "IQ== 0\n");
        var output = Path.Combine(_dir, "pkg");
        await new PackageConverter(_ => reader).ConvertAsync(new ConvertOptions { Input = input, Output = output, GenAi = true, KvDtype = kvDtype });

        int[] prompt = [11, 250, 3, 77, 140, 9, 301, 42];
        const int total = 28;
        var native = new List<int>(prompt);
        using (var runner = new PackageRunner(output, maxSeq: 64))
        {
            var logits = runner.Forward(prompt.Select(t => (long)t).ToArray());
            var last = logits.AsSpan((prompt.Length - 1) * arch.VocabSize, arch.VocabSize).ToArray();
            while (native.Count < total)
            {
                var next = Array.IndexOf(last, last.Max());
                native.Add(next);
                if (native.Count < total)
                {
                    last = runner.Forward([next]);
                }
            }
        }

        // GenAI runs in its own process: it needs another ONNX Runtime version than the engine (Qwen.Testing.GenAiPeer).
        using var peer = await GenAiPeer.RunAsync(null,
            ["greedy", "--model", Path.Combine(output, PackageConverter.GenAiDirectory), "--prompt", string.Join(',', prompt), "--max-length", $"{total}"]);
        var genai = peer.RootElement.GetProperty("sequence").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        Assert.True(native.Skip(prompt.Length).Distinct().Count() > 3, $"greedy output is degenerate: {string.Join(' ', native)}");
        Assert.Equal(native, genai);
    }
}
