using Qwen.ModelPrep.Checkpoints;
using Qwen.Testing.Reference;

namespace Qwen.ModelPrep.Tests.Checkpoints;

public class ReferenceModelTests
{
    // The micro checkpoint has seq_length 8: prompts of 8 tokens or fewer keep α = 1, 9…16 give α = 3.
    private static readonly int[] ShortPrompt = [5, 17, 3, 29, 11, 2];
    private static readonly int[] LongPrompt = [5, 17, 3, 29, 11, 2, 30, 8, 19, 1, 24, 13];

    [Fact]
    public async Task Forward_ShortPromptTokenByToken_EqualsOnePrefill()
    {
        using var temp = new TempDirectory();
        using var model = ReferenceModel.Load(await MicroCheckpoint.CreateAsync(temp.Combine("ckpt")));
        var prefill = model.StartSequence().Forward(ShortPrompt);
        var stepwise = model.StartSequence();
        for (var t = 0; t < ShortPrompt.Length; t++)
        {
            var logits = stepwise.Forward([ShortPrompt[t]])[0];
            for (var v = 0; v < logits.Length; v++)
            {
                Assert.Equal(prefill[t][v], logits[v], 1e-10);
            }
        }
        Assert.Equal(1, stepwise.Alpha);
        Assert.Equal(ShortPrompt.Length, stepwise.Length);
    }

    [Fact]
    public async Task Forward_LongPrompt_AlphaFromPrefillStaysFixedForDecode()
    {
        using var temp = new TempDirectory();
        using var model = ReferenceModel.Load(await MicroCheckpoint.CreateAsync(temp.Combine("ckpt")));

        var whole = model.StartSequence();
        var wholeLogits = whole.Forward(LongPrompt);
        Assert.Equal(3, whole.Alpha);

        // Same tokens split into a short prefill (α = 1) and decode steps: α must stay 1, so the last logits differ
        // from those of the one-shot prefill (α = 3).
        var split = model.StartSequence();
        split.Forward(LongPrompt[..4]);
        double[] last = [];
        foreach (var id in LongPrompt[4..])
        {
            last = split.Forward([id])[0];
        }
        Assert.Equal(1, split.Alpha);
        Assert.True(MaxAbsDiff(last, wholeLogits[^1]) > 1e-3, "α must come from the prefill, not from the current length");

        // And a decode step after the long prefill keeps α = 3.
        whole.Forward([7]);
        Assert.Equal(3, whole.Alpha);
        Assert.Equal(LongPrompt.Length + 1, whole.Length);
    }

    [Fact]
    public async Task Forward_PositionBeyondSeqLength_LognChangesLogitsOnlyThere()
    {
        // With α fixed to 1 (prefill ≤ S) a decode past S must still apply LogN: compare against a model copy whose
        // config turns LogN off. The first S positions are identical; later ones differ.
        using var temp = new TempDirectory();
        var withLogn = await MicroCheckpoint.CreateAsync(temp.Combine("a"));
        var withoutLogn = await MicroCheckpoint.CreateAsync(temp.Combine("b"));
        var configPath = Path.Combine(withoutLogn, "config.json");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"use_logn_attn\": true", "\"use_logn_attn\": false"));
        using var a = ReferenceModel.Load(withLogn);
        using var b = ReferenceModel.Load(withoutLogn);
        Assert.False(b.Architecture.UseLognAttn);

        var sa = a.StartSequence();
        var sb = b.StartSequence();
        var pa = sa.Forward(LongPrompt[..8]);
        var pb = sb.Forward(LongPrompt[..8]);
        for (var t = 0; t < 8; t++)
        {
            Assert.Equal(0, MaxAbsDiff(pa[t], pb[t]));
        }
        var da = sa.Forward([LongPrompt[8]])[0];
        var db = sb.Forward([LongPrompt[8]])[0];
        Assert.True(MaxAbsDiff(da, db) > 1e-4, "position 8 ≥ S = 8 must be LogN-scaled");
    }

    [Fact]
    public async Task Greedy_SameModel_IsDeterministicAndMatchesArgMaxOfForward()
    {
        using var temp = new TempDirectory();
        using var model = ReferenceModel.Load(await MicroCheckpoint.CreateAsync(temp.Combine("ckpt")));
        var generated = model.Greedy(ShortPrompt, 4);
        Assert.Equal(generated, model.Greedy(ShortPrompt, 4));

        var sequence = model.StartSequence();
        var logits = sequence.Forward(ShortPrompt)[^1];
        foreach (var id in generated)
        {
            Assert.Equal(ReferenceModel.ArgMax(logits), id);
            logits = sequence.Forward([id])[0];
        }
    }

    [Fact]
    public async Task Load_Checkpoint_KeepsWeightsExactlyAsStored()
    {
        using var temp = new TempDirectory();
        var dir = await MicroCheckpoint.CreateAsync(temp.Combine("ckpt"));
        using var model = ReferenceModel.Load(dir);
        using var reader = SafetensorsCheckpointReader.Open(dir);
        Assert.Equal(reader.ReadAll(QwenTensorLayout.LmHead), model.LmHead);
        Assert.Equal(reader.ReadAll(QwenTensorLayout.MlpW2(1)), model.Layers[1].W2);
        Assert.Equal(16 * 32, model.LmHead.Length);
    }

    private static double MaxAbsDiff(double[] x, double[] y) => x.Zip(y, (a, b) => Math.Abs(a - b)).Max();
}
