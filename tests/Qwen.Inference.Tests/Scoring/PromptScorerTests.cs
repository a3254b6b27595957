using Qwen.Inference.Scoring;

namespace Qwen.Inference.Tests.Scoring;

public sealed class PromptScorerTests
{
    [Fact]
    public void Score_SmallRow_LogSoftmaxAndTopKBestFirst()
    {
        float[] row = [1f, 3f, 2f, 3f, -1f];
        var sum = row.Sum(v => Math.Exp(v));
        var score = PromptScorer.Score(row, 2, topLogprobs: 3);
        Assert.Equal(2 - Math.Log(sum), score.Logprob!.Value, 12);
        // Ties keep the lower id first.
        Assert.Equal([1, 3, 2], score.TopLogprobs.Select(t => t.Id));
        Assert.Equal((float)(3 - Math.Log(sum)), score.TopLogprobs[0].Logprob, 6);
        Assert.Empty(PromptScorer.Score(row, 0, topLogprobs: 0).TopLogprobs);
    }
}
