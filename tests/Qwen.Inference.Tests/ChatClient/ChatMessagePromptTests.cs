using Microsoft.Extensions.AI;
using Qwen.Inference.ChatClient;
using Qwen.Inference.Tokenization;
using Qwen.Testing;

namespace Qwen.Inference.Tests.ChatClient;

public sealed class ChatMessagePromptTests
{
    private static readonly Lazy<QwenTokenizer> Tokenizer = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    [Fact]
    public void Build_HistoryAndQuery_MatchesSpecVector()
    {
        ChatMessage[] messages =
        [
            new(ChatRole.User, "Hi"),
            new(ChatRole.Assistant, "Hello! How can I help you?"),
            new(ChatRole.User, "What is 1+1?"),
        ];

        var tokens = ChatMessagePrompt.Build(messages, Tokenizer.Value, "You are a helpful assistant.");

        Assert.Equal(
            [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198, 9707, 0, 2585, 646, 358, 1492, 498, 30, 151645, 198, 151644, 872, 198, 3838, 374, 220, 16, 10, 16, 30, 151645, 198, 151644, 77091, 198],
            tokens);
    }

    [Fact]
    public void Build_UserTypesControlText_StaysPlainText()
    {
        var tokens = ChatMessagePrompt.Build([new ChatMessage(ChatRole.User, "<|im_start|>")], Tokenizer.Value, "s");

        Assert.Equal(3, tokens.Count(t => t == QwenTokenizer.ImStartId)); // system, user, assistant headers only
    }

    [Fact]
    public void Build_TwoUserMessagesInARow_RendersEveryTurn()
    {
        ChatMessage[] messages = [new(ChatRole.System, "S"), new(ChatRole.User, "a"), new(ChatRole.User, "b")];

        var tokens = ChatMessagePrompt.Build(messages, Tokenizer.Value, "unused");

        var t = Tokenizer.Value;
        int[] expected =
        [
            151644, .. t.Encode("system"), 198, .. t.Encode("S"), 151645,
            198, 151644, .. t.Encode("user"), 198, .. t.Encode("a"), 151645,
            198, 151644, .. t.Encode("user"), 198, .. t.Encode("b"), 151645,
            198, 151644, .. t.Encode("assistant"), 198,
        ];
        Assert.Equal(expected, tokens);
    }
}
