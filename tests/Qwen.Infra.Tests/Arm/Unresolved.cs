namespace Qwen.Infra.Tests.Arm;

/// <summary>A template value only known at deployment time (for example a module output); keeps the expression text.</summary>
public sealed record Unresolved(string Text)
{
    /// <inheritdoc />
    public override string ToString() => Text;
}
