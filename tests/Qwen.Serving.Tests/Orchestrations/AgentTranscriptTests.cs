using Qwen.Serving.Orchestrations;

namespace Qwen.Serving.Tests.Orchestrations;

public sealed class AgentTranscriptTests
{
    [Fact]
    public void Text_ModelTextAndObservations_JoinedAsReActContinues()
    {
        var transcript = new AgentTranscript(10_000);
        transcript.AddModelText("Thought: look it up\nAction: search\nAction Input: {}\n");
        transcript.AddObservation("42");

        Assert.Equal("Thought: look it up\nAction: search\nAction Input: {}\nObservation: 42\nThought:", transcript.Text);
        Assert.True(transcript.Fit());
    }

    [Fact]
    public void Fit_OverBudget_ElidesOldestObservationsFirst()
    {
        var transcript = new AgentTranscript(280);
        transcript.AddModelText("A1");
        transcript.AddObservation(new string('x', 200));
        transcript.AddModelText("A2");
        transcript.AddObservation(new string('y', 50));

        Assert.True(transcript.Fit());

        var text = transcript.Text;
        Assert.DoesNotContain("xxx", text, StringComparison.Ordinal);
        Assert.Contains(AgentTranscript.ElidedObservation, text, StringComparison.Ordinal);
        Assert.Contains(new string('y', 50), text, StringComparison.Ordinal); // the newest observation stays
        Assert.True(text.Length <= 280, $"{text.Length} chars");
    }

    [Fact]
    public void Fit_ModelTextAloneOverBudget_False()
    {
        var transcript = new AgentTranscript(100);
        transcript.AddModelText(new string('t', 150));
        transcript.AddObservation("short");

        Assert.False(transcript.Fit());
    }
}
