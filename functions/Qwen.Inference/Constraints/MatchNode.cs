namespace Qwen.Inference.Constraints;

/// <summary>A compiled grammar node: it only knows how to start matching (its first frames); the frames do the rest.</summary>
/// <remarks>Nodes are immutable and shared by every cursor of a constraint; identity (reference) equality on purpose.</remarks>
internal abstract class MatchNode
{
    /// <summary>Appends the frames that start this node; <paramref name="parent"/> continues once the node is done.</summary>
    public abstract void Enter(Frame? parent, List<Frame> output);
}
