namespace Qwen.ModelPrep.Checkpoints;

/// <summary>A tensor to be written by <see cref="SafetensorsWriter"/>: name, dtype (<c>BF16</c>/<c>F16</c>/<c>F32</c>) and shape.</summary>
public sealed record SafetensorsTensorSpec(string Name, string Dtype, long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => ElementCount * (SafetensorsDtype.ElementSize(Dtype) ?? 0);
}
