using Qwen.Inference.Runtime;
using Qwen.Inference.Scheduling;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>The ONNX runner's row copy (the fork of a multi-choice request) on a real session over the tiny package, KV read back from host memory.</summary>
public sealed class OnnxBatchRunnerTests
{
    private static async Task<OnnxBatchRunner> CreateRunner(int rows)
    {
        var package = ModelPackage.Open(await TinyPackage.Fp32Async());
        return new OnnxBatchRunner(package, new ModelRuntimeOptions { IntraOpThreads = 1 }, rows, 64);
    }

    private static float[] Prefill(OnnxBatchRunner runner, int slot, int[] prompt)
    {
        var arch = TinyPackage.Architecture;
        var logits = new float[runner.VocabRows];
        var rotary = new RotaryEmbedding(arch.HeadDim, arch.RotaryBase, LongContext.RequestAlpha(arch, prompt.Length));
        runner.Prefill(new PrefillWork(slot, slot, 0, prompt.Length), prompt, rotary, logits, CancellationToken.None);
        return logits;
    }

    [Fact]
    public async Task CopyRow_PrefilledRow_ForkEqualsSourceAndADirectPrefill()
    {
        using var runner = await CreateRunner(rows: 4);
        var random = new Random(3);
        int[] prompt = [.. Enumerable.Range(0, 20).Select(_ => random.Next(0, 320))];
        int[] longer = [.. Enumerable.Range(0, 30).Select(_ => random.Next(0, 320))];
        Prefill(runner, 0, prompt);
        Prefill(runner, 1, prompt);
        // Row 2 held a longer, different sequence: the copy must replace its first 20 positions and leave the rest.
        Prefill(runner, 2, longer);
        var before = runner.ReadRow(2, longer.Length);
        var row3Before = runner.ReadRow(3, 64);

        Assert.True(runner.CanCopyRows);
        runner.CopyRow(0, 2, prompt.Length);

        var source = runner.ReadRow(0, prompt.Length);
        var direct = runner.ReadRow(1, prompt.Length);
        var fork = runner.ReadRow(2, prompt.Length);
        Assert.Equal(source, fork);
        Assert.Contains(fork, v => v != 0);
        var worst = fork.Zip(direct, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-5f, $"fork vs direct prefill differ by {worst}");
        // [layer·2 + kind, heads, positions, headDim]: positions 20…29 of every head are what row 2 held before.
        var after = runner.ReadRow(2, longer.Length);
        var arch = TinyPackage.Architecture;
        var changed = 0;
        for (var block = 0; block < arch.NumLayers * 2 * arch.NumHeads; block++)
        {
            for (var p = 0; p < longer.Length; p++)
            {
                for (var d = 0; d < arch.HeadDim; d++)
                {
                    var at = (block * longer.Length + p) * arch.HeadDim + d;
                    if (p >= prompt.Length)
                    {
                        Assert.Equal(before[at], after[at]);
                    }
                    else if (before[at] != after[at])
                    {
                        changed++;
                    }
                }
            }
        }
        Assert.True(changed > 0);
        Assert.Equal(row3Before, runner.ReadRow(3, 64));
    }

    [Fact]
    public async Task CopyRowWithGraph_HostMemory_EqualsTheDirectCopyAndLeavesTheRestAlone()
    {
        // The device path (an Identity graph on the provider, bound to views on the KV buffers) cannot run here without a
        // GPU; on host memory it must produce exactly what the plain copy does, which checks the views' offsets and shapes.
        using var runner = await CreateRunner(rows: 4);
        var random = new Random(8);
        int[] prompt = [.. Enumerable.Range(0, 17).Select(_ => random.Next(0, 320))];
        int[] other = [.. Enumerable.Range(0, 40).Select(_ => random.Next(0, 320))];
        Prefill(runner, 0, prompt);
        Prefill(runner, 2, other);
        Prefill(runner, 3, other);

        runner.CopyRowWithGraph(0, 2, prompt.Length);
        runner.CopyRow(0, 3, prompt.Length);

        Assert.Equal(runner.ReadRow(0, prompt.Length), runner.ReadRow(2, prompt.Length));
        Assert.Equal(runner.ReadRow(3, 64), runner.ReadRow(2, 64));
        Assert.NotEqual(runner.ReadRow(0, 64), runner.ReadRow(2, 64));
    }
}
