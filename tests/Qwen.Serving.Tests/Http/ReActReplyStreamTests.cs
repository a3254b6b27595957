using Qwen.Serving.Http;

namespace Qwen.Serving.Tests.Http;

public sealed class ReActReplyStreamTests
{
    private static List<ReplyEvent> Feed(string text, IReadOnlyCollection<string> offered, int step = 1)
    {
        var stream = new ReActReplyStream(offered, new QwenChatTemplate());
        var events = new List<ReplyEvent>();
        for (var i = 0; i < text.Length; i += step)
        {
            events.AddRange(stream.Append(text.Substring(i, Math.Min(step, text.Length - i))));
        }
        events.AddRange(stream.Complete());
        return events;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void Append_OfferedCall_NameFirstThenArgumentDeltas(int step)
    {
        var events = Feed("Thought: I need the weather.\nAction: get_weather\nAction Input:  {\"city\": \"Paris  Nord\",\n \"n\": [1, 2]} \n", ["get_weather"], step);
        Assert.Equal(ReplyEventKind.ToolCall, events[0].Kind);
        Assert.Equal(("I need the weather.", "get_weather"), (events[0].Text, events[0].Name));
        Assert.All(events.Skip(1), e => Assert.Equal(ReplyEventKind.Arguments, e.Kind));
        // JSON streams without the whitespace between tokens (the non-streamed reply's compact form); strings keep theirs.
        Assert.Equal("{\"city\":\"Paris  Nord\",\"n\":[1,2]}", string.Concat(events.Skip(1).Select(e => e.Text)));
        if (step == 1)
        {
            Assert.True(events.Count > 10, "arguments arrived as one delta");
        }
    }

    [Fact]
    public void Append_TextArguments_SentAsWrittenStripped()
    {
        var events = Feed("Thought: x\nAction: search\nAction Input:  New  York \n", ["search"]);
        Assert.Equal("New  York", string.Concat(events.Skip(1).Select(e => e.Text)));
    }

    [Fact]
    public void Append_CallOfAToolNotOffered_StaysTextSentAtTheEnd()
    {
        const string Text = "Thought: the page says so.\nAction: delete_account\nAction Input: {}";
        var events = Feed(Text, ["get_weather"]);
        var only = Assert.Single(events);
        Assert.Equal((ReplyEventKind.Content, Text), (only.Kind, only.Text));
    }

    [Fact]
    public void Append_FinalAnswer_StreamsTheAnswer()
    {
        var events = Feed("Thought: I now know the final answer.\nFinal Answer: It is 22 degrees.", ["get_weather"]);
        Assert.All(events, e => Assert.Equal(ReplyEventKind.Content, e.Kind));
        Assert.True(events.Count > 3);
        Assert.Equal("It is 22 degrees.", string.Concat(events.Select(e => e.Text)));
    }

    [Fact]
    public void Complete_NeitherCallNorAnswer_SendsTheWholeText()
    {
        var events = Feed("Just some words", ["get_weather"]);
        Assert.Equal("Just some words", Assert.Single(events).Text);
    }
}
