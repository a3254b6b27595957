namespace Qwen.Inference.Constraints;

/// <summary>Any one of the alternatives: each starts its own stack; the ones that stop matching die.</summary>
internal sealed class ChoiceNode(MatchNode[] alternatives) : MatchNode
{
    public MatchNode[] Alternatives { get; } = alternatives;

    public override void Enter(Frame? parent, List<Frame> output)
    {
        foreach (var alternative in Alternatives)
        {
            alternative.Enter(parent, output);
        }
    }
}
