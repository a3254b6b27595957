using Qwen.Inference.Generation;

namespace Qwen.Inference.Tests.Generation;

public class StopStringMatcherTests
{
    [Fact]
    public void Append_StopSplitAcrossPieces_HoldsBackPrefixAndNeverEmitsStopText()
    {
        var matcher = new StopStringMatcher(["Observation:"]);
        Assert.Equal("Action: x\n", matcher.Append("Action: x\nObserv"));
        Assert.Equal(6, matcher.HeldBackLength);
        Assert.Equal("", matcher.Append("ation"));
        Assert.Equal("", matcher.Append(": 42"));
        Assert.True(matcher.Stopped);
        Assert.Equal("Observation:", matcher.MatchedStop);
        Assert.Equal("", matcher.Flush());
    }

    [Fact]
    public void Append_PrefixThatDoesNotContinue_ReleasesTheHeldText()
    {
        var matcher = new StopStringMatcher(["END"]);
        Assert.Equal("a", matcher.Append("aEN"));
        Assert.Equal("ENx", matcher.Append("x"));
        Assert.Equal("", matcher.Append("E"));
        Assert.Equal("E", matcher.Flush());
        Assert.False(matcher.Stopped);
    }

    [Fact]
    public void Append_TwoStops_EarliestOccurrenceWins()
    {
        var matcher = new StopStringMatcher(["world", "lo w"]);
        Assert.Equal("hel", matcher.Append("hello world"));
        Assert.Equal("lo w", matcher.MatchedStop);
    }

    [Fact]
    public void Append_NoStops_PassesTextThrough()
    {
        var matcher = new StopStringMatcher(["", ""]);
        Assert.Equal("abc", matcher.Append("abc"));
        Assert.Equal("", matcher.Flush());
    }
}
