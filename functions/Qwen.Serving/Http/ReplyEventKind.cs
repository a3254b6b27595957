namespace Qwen.Serving.Http;

/// <summary>What a streamed ReAct reply sends next.</summary>
internal enum ReplyEventKind
{
    /// <summary>Answer text.</summary>
    Content,

    /// <summary>A tool call starts: the thought (may be null) and the tool name.</summary>
    ToolCall,

    /// <summary>More argument text of the call.</summary>
    Arguments,
}
