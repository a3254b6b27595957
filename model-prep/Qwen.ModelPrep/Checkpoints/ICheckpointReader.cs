namespace Qwen.ModelPrep.Checkpoints;

/// <summary>Read access to a Hugging Face Qwen checkpoint: parsed config plus tensors converted to float32.</summary>
/// <remarks>Tensors are read on demand (memory-mapped) so converting a 7B checkpoint never holds it whole.</remarks>
public interface ICheckpointReader : IDisposable
{
    /// <summary>The parsed and validated config.json (+ generation_config.json when present).</summary>
    CheckpointConfig Config { get; }

    /// <summary>Names of all tensors in the checkpoint (every shard).</summary>
    IReadOnlyCollection<string> TensorNames { get; }

    /// <summary>Dtype (<c>BF16</c>, <c>F16</c>, <c>F32</c>) and shape of a tensor.</summary>
    /// <exception cref="ModelPrepException">The tensor is missing.</exception>
    CheckpointTensorInfo GetInfo(string name);

    /// <summary>Reads rows [<paramref name="rowStart"/>, <paramref name="rowStart"/> + rows) of a tensor (row = last-dim slice; 1-D tensors have one row) as float32.</summary>
    void ReadRows(string name, long rowStart, int rows, Span<float> destination);
}

/// <summary>Dtype and shape of one checkpoint tensor.</summary>
public sealed record CheckpointTensorInfo(string Name, string Dtype, long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    /// <summary>Rows of the tensor seen as a matrix [prod(shape[..^1]), shape[^1]].</summary>
    public long Rows => Shape.Length <= 1 ? 1 : ElementCount / Shape[^1];
    public long Columns => Shape.Length == 0 ? 1 : Shape[^1];
}
