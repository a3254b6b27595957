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

public class StopStringMatcherTokenizerTests
{
    private static (string Emitted, int StoppedAtToken) Stream(IReadOnlyList<int> ids, params string[] stops)
    {
        var decoder = Tokenization.SharedTokenizer.Instance.CreateStreamDecoder();
        var matcher = new StopStringMatcher(stops);
        var emitted = new System.Text.StringBuilder();
        for (var i = 0; i < ids.Count; i++)
        {
            emitted.Append(matcher.Append(decoder.Append(ids[i])));
            if (matcher.Stopped)
            {
                return (emitted.ToString(), i);
            }
        }
        emitted.Append(matcher.Append(decoder.Flush())).Append(matcher.Flush());
        return (emitted.ToString(), -1);
    }

    [Fact]
    public void Append_ObservationSplitOverThreeRealTokens_StopsOnTheLastAndEmitsNothingOfIt()
    {
        var tokenizer = Tokenization.SharedTokenizer.Instance;
        var ids = tokenizer.Encode("Action: search\nObservation: 42 results");
        // "Observation:" is three tokens (spec §4.7): [37763, 367, 25] = "Observ" + "ation" + ":".
        var start = ids.ToList().IndexOf(37763);
        Assert.Equal([37763, 367, 25], ids.Skip(start).Take(3));
        var (emitted, stoppedAt) = Stream(ids, "Observation:");
        Assert.Equal("Action: search\n", emitted);
        Assert.Equal(start + 2, stoppedAt);
    }

    [Fact]
    public void Append_StopInsideMultiByteCharactersSplitAcrossTokens_IsCaught()
    {
        // [51461] is " \xe6\xa0" (half of 根); [51461, 117] decodes to " 根" (spec §4.7).
        int[] ids = [9707, 51461, 117, 13];
        Assert.Equal("Hello 根.", Tokenization.SharedTokenizer.Instance.Decode(ids));
        var (emitted, stoppedAt) = Stream(ids, "o 根");
        Assert.Equal("Hell", emitted);
        Assert.Equal(2, stoppedAt);
    }

    [Fact]
    public void Append_NoStopInText_EmitsEverythingAfterFlush()
    {
        var ids = Tokenization.SharedTokenizer.Instance.Encode("你好，世界！Observ");
        var (emitted, stoppedAt) = Stream(ids, "Observation:");
        Assert.Equal("你好，世界！Observ", emitted);
        Assert.Equal(-1, stoppedAt);
    }
}
