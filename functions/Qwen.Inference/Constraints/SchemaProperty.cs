namespace Qwen.Inference.Constraints;

/// <summary>One property of a schema object: its key as JSON text (quotes included), its value grammar, and whether it is required.</summary>
internal sealed record SchemaProperty(LiteralNode Key, MatchNode Value, bool Required);
