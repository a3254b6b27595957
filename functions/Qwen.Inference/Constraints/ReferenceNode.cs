namespace Qwen.Inference.Constraints;

/// <summary>A JSON Schema <c>$ref</c>: the target is set after it is compiled, so recursive schemas compile to a cycle.</summary>
/// <remarks>The schema compiler refuses cycles that consume no input, so entering never loops.</remarks>
internal sealed class ReferenceNode : MatchNode
{
    public MatchNode? Target { get; set; }

    public override void Enter(Frame? parent, List<Frame> output)
        => (Target ?? throw new InvalidOperationException("A $ref was entered before its target was compiled.")).Enter(parent, output);
}
