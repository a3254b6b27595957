using Microsoft.Win32.SafeHandles;
using Qwen.ModelPrep.Onnx.Proto;

namespace Qwen.ModelPrep.Onnx;

/// <summary>Appends initializer bytes to an ONNX external data file and hands back the matching tensor references.</summary>
/// <remarks>
/// Each tensor starts at an aligned offset so ONNX Runtime can memory-map it instead of copying (64 KiB covers
/// both Linux pages and the Windows allocation granularity). Writes go straight to the file through
/// <see cref="RandomAccess"/>, so nothing but the caller's current chunk is held in memory.
/// Not thread-safe: one tensor region is open at a time.
/// </remarks>
internal sealed class ExternalDataWriter : IDisposable
{
    private const long LargeAlignment = 65536;
    private const long SmallAlignment = 64;
    private readonly SafeFileHandle _handle;
    private long _length;

    public ExternalDataWriter(string path, string location)
    {
        Path = path;
        Location = location;
        _handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
    }

    public string Path { get; }

    /// <summary>The file name written into each tensor's <c>location</c> (relative to the model file).</summary>
    public string Location { get; }

    public long Length => _length;

    /// <summary>Reserves an aligned region of <paramref name="bytes"/> bytes for one tensor.</summary>
    public TensorRegion Begin(string name, TensorProto.Types.DataType type, long[] dims, long bytes)
    {
        var alignment = bytes >= 1 << 20 ? LargeAlignment : SmallAlignment;
        var offset = (_length + alignment - 1) / alignment * alignment;
        _length = offset + bytes;
        return new TensorRegion(this, OnnxGraphBuilder.External(name, type, dims, Location, offset, bytes), offset, bytes);
    }

    /// <summary>Writes a whole small tensor at once.</summary>
    public TensorProto WriteTensor<T>(string name, TensorProto.Types.DataType type, long[] dims, ReadOnlySpan<T> data)
        where T : unmanaged
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data);
        var region = Begin(name, type, dims, bytes.Length);
        region.Write(0, bytes);
        return region.Tensor;
    }

    internal void WriteAt(long offset, ReadOnlySpan<byte> bytes) => RandomAccess.Write(_handle, bytes, offset);

    /// <summary>Extends the file to its final length (trailing alignment holes included) and flushes it.</summary>
    public void Complete()
    {
        if (RandomAccess.GetLength(_handle) < _length)
        {
            RandomAccess.SetLength(_handle, _length);
        }
        RandomAccess.FlushToDisk(_handle);
    }

    public void Dispose() => _handle.Dispose();
}

/// <summary>One tensor's reserved bytes in the external data file; written in any order, by offset.</summary>
internal sealed class TensorRegion(ExternalDataWriter writer, TensorProto tensor, long offset, long length)
{
    public TensorProto Tensor { get; } = tensor;

    public long Length { get; } = length;

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="relativeOffset"/> bytes into this tensor.</summary>
    public void Write(long relativeOffset, ReadOnlySpan<byte> bytes)
    {
        if (relativeOffset < 0 || relativeOffset + bytes.Length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(relativeOffset), $"Write of {bytes.Length} bytes at {relativeOffset} overruns tensor {Tensor.Name} ({Length} bytes).");
        }
        writer.WriteAt(offset + relativeOffset, bytes);
    }
}
