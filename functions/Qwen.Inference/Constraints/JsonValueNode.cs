using System.Text;

namespace Qwen.Inference.Constraints;

/// <summary>Any JSON value (RFC 8259): object, array, string, number, <c>true</c>, <c>false</c> or <c>null</c>, with bounded whitespace inside.</summary>
internal sealed class JsonValueNode : MatchNode
{
    private readonly MatchNode[] _alternatives;

    private JsonValueNode()
    {
        Object = new JsonObjectNode(this);
        _alternatives =
        [
            Object,
            new JsonArrayNode(this, 0, int.MaxValue),
            JsonStringNode.Free,
            JsonNumberNode.Number,
            True,
            False,
            Null,
        ];
    }

    /// <summary>Any JSON object (members are any values).</summary>
    public JsonObjectNode Object { get; }

    public static LiteralNode True { get; } = new(Encoding.UTF8.GetBytes("true"));

    public static LiteralNode False { get; } = new(Encoding.UTF8.GetBytes("false"));

    public static LiteralNode Null { get; } = new(Encoding.UTF8.GetBytes("null"));

    /// <summary>Any JSON value (declared after the literals: static initializers run in order and the constructor uses them).</summary>
    public static JsonValueNode Any { get; } = new();

    public override void Enter(Frame? parent, List<Frame> output)
    {
        foreach (var alternative in _alternatives)
        {
            alternative.Enter(parent, output);
        }
    }
}
