using System.Text;
using Qwen.Serving.Http;

namespace Qwen.Serving.Tests.Http;

public sealed class ChunkFactoryTests
{
    [Fact]
    public void Chat_RoleChunkWithUsage_HasOpenAiBytes()
    {
        var chunk = new ChunkFactory("chatcmpl-1", 1700000000, "qwen", includeUsage: true, "chat.completion.chunk")
            .Chat(0, w => { w.WriteString("role", "assistant"); w.WriteString("content", ""); }, null, null);
        Assert.Equal("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"qwen\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
            Encoding.UTF8.GetString(chunk));
    }

    [Fact]
    public void Chat_NonAsciiContent_IsNotEscaped()
    {
        var chunk = new ChunkFactory("c", 1, "m", includeUsage: false, "chat.completion.chunk").Chat(2, w => w.WriteString("content", "你好 \"q\"\n"), "stop", null);
        Assert.Equal("{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":2,\"delta\":{\"content\":\"你好 \\\"q\\\"\\n\"},\"logprobs\":null,\"finish_reason\":\"stop\"}]}",
            Encoding.UTF8.GetString(chunk));
    }

    [Fact]
    public void Frame_Payload_IsDataLineAndBlankLine()
    {
        Assert.Equal("data: {}\n\n", SseWriter.Frame("{}"));
    }

    [Fact]
    public void Error_Body_HasOpenAiShape()
    {
        var bytes = OpenAiJson.Error(OpenAiException.Invalid("n", "bad n"));
        Assert.Equal("{\"error\":{\"message\":\"bad n\",\"type\":\"invalid_request_error\",\"param\":\"n\",\"code\":null}}", Encoding.UTF8.GetString(bytes));
    }
}
