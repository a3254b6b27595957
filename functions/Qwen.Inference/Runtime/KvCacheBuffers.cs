using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Qwen.Inference.Packaging;

namespace Qwen.Inference.Runtime;

/// <summary>
/// The KV cache: one key and one value tensor per layer, each [batch, heads, maxSequence, headDim], allocated once and
/// bound as both <c>past_key_values.{i}.*</c> and <c>present.{i}.*</c> so GroupQueryAttention appends in place.
/// </summary>
/// <remarks>
/// Background: with past and present sharing memory there is no per-token allocation or copy; the graph learns each
/// row's valid length from <c>seqlens_k</c>, so stale entries beyond it are never read and "rewinding" a row is just
/// feeding a shorter length. Buffers from the default CPU allocator are zeroed once. Not thread-safe; owned by one runner.
/// </remarks>
public sealed class KvCacheBuffers : IDisposable
{
    private readonly OrtValue[] _keys;
    private readonly OrtValue[] _values;

    /// <summary>Allocates the cache for <paramref name="manifest"/>'s layers with <paramref name="allocator"/>.</summary>
    /// <exception cref="QwenEngineException">Allocation failed (usually: not enough memory for this context length).</exception>
    public KvCacheBuffers(ModelManifest manifest, int batchSize, int maxSequence, OrtAllocator allocator)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSequence);
        var arch = manifest.Architecture;
        BatchSize = batchSize;
        MaxSequence = maxSequence;
        Layers = arch.NumLayers;
        ElementType = OnnxSessionFactory.KvElementType(manifest.Io);
        Shape = [batchSize, arch.NumHeads, maxSequence, arch.HeadDim];
        var elementBytes = ElementType == TensorElementType.Float16 ? 2L : 4L;
        Bytes = 2L * Layers * batchSize * arch.NumHeads * maxSequence * arch.HeadDim * elementBytes;

        _keys = new OrtValue[Layers];
        _values = new OrtValue[Layers];
        var zero = ReferenceEquals(allocator, OrtAllocator.DefaultInstance);
        try
        {
            for (var layer = 0; layer < Layers; layer++)
            {
                _keys[layer] = Allocate(allocator, layer, "key", zero);
                _values[layer] = Allocate(allocator, layer, "value", zero);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Rows (sequences) the cache holds.</summary>
    public int BatchSize { get; }

    /// <summary>Positions per row.</summary>
    public int MaxSequence { get; }

    /// <summary>Number of layers.</summary>
    public int Layers { get; }

    /// <summary>float32 or float16.</summary>
    public TensorElementType ElementType { get; }

    /// <summary>[batch, heads, maxSequence, headDim].</summary>
    public long[] Shape { get; }

    /// <summary>Total bytes of all key and value tensors.</summary>
    public long Bytes { get; }

    /// <summary>Binds every layer's key/value tensor as both past input and present output of <paramref name="binding"/>.</summary>
    public void BindTo(OrtIoBinding binding, GraphIo io)
    {
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        OrtGuard.Invoke("bind the KV cache", () =>
        {
            for (var layer = 0; layer < Layers; layer++)
            {
                binding.BindInput(string.Format(culture, io.PastKey, layer), _keys[layer]);
                binding.BindInput(string.Format(culture, io.PastValue, layer), _values[layer]);
                binding.BindOutput(string.Format(culture, io.PresentKey, layer), _keys[layer]);
                binding.BindOutput(string.Format(culture, io.PresentValue, layer), _values[layer]);
            }
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var value in _keys.Concat(_values))
        {
            value?.Dispose();
        }
    }

    private OrtValue Allocate(OrtAllocator allocator, int layer, string kind, bool zero)
    {
        var value = OrtGuard.Invoke($"allocate the KV cache ({kind} of layer {layer}, {Bytes / 2 / Layers:N0} bytes; shorten the context if memory is short)",
            () => OrtValue.CreateAllocatedTensorValue(allocator, ElementType, Shape));
        if (zero)
        {
            // Zeroed so that no uninitialised (possibly NaN) memory can ever reach a kernel.
            value.GetTensorMutableRawData().Clear();
        }
        return value;
    }
}
