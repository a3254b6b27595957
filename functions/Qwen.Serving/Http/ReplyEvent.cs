namespace Qwen.Serving.Http;

/// <summary>One thing a streamed ReAct reply sends: content text, a tool call's start (thought in <paramref name="Text"/>, <paramref name="Name"/>), or argument text.</summary>
internal readonly record struct ReplyEvent(ReplyEventKind Kind, string? Text, string? Name = null);
