namespace Qwen.ModelPrep.Checkpoints;

/// <summary>One tensor entry of a safetensors header: where its bytes sit inside the file's data section.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Dtype">Safetensors dtype name.</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="DataBegin">Offset of the first byte, relative to the start of the data section.</param>
/// <param name="DataEnd">Offset one past the last byte, relative to the start of the data section.</param>
public sealed record SafetensorsTensor(string Name, string Dtype, long[] Shape, long DataBegin, long DataEnd)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => DataEnd - DataBegin;
}
