using System.IO.MemoryMappedFiles;
using System.Text.Json;

namespace Qwen.ModelPrep.Checkpoints;

/// <summary>One memory-mapped <c>.safetensors</c> file with its validated header.</summary>
/// <remarks>Reads are thread-safe: the mapping is read-only and nothing is cached per call.</remarks>
public sealed unsafe class SafetensorsFile : IDisposable
{
    // The safetensors format caps headers at 100 MB; anything larger is corruption, not a model.
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _dataStart;
    private bool _disposed;

    private SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer,
        long dataStart, IReadOnlyDictionary<string, SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _base = basePointer;
        _dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Path { get; }

    /// <summary>Tensors by name, in header order.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors { get; }

    /// <summary>The optional <c>__metadata__</c> string map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Maps the file and validates its header (length, JSON, dtypes, offsets inside the file).</summary>
    /// <exception cref="ModelPrepException">The file is missing, truncated or its header is corrupt.</exception>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelPrepException($"{path} is missing");
        }
        var length = new FileInfo(path).Length;
        if (length < 8)
        {
            throw new ModelPrepException($"{path} is truncated: {length} bytes, too short for the 8-byte safetensors header length");
        }
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        var acquired = false;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* basePointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
            acquired = true;
            basePointer += view.PointerOffset;
            var (tensors, metadata, dataStart) = ParseHeader(path, new ReadOnlySpan<byte>(basePointer, (int)Math.Min(length, int.MaxValue)), length);
            return new SafetensorsFile(path, map, view, basePointer, dataStart, tensors, metadata);
        }
        catch
        {
            if (acquired)
            {
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            }
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    /// <summary>The raw bytes of a tensor (valid until the file is disposed).</summary>
    public ReadOnlySpan<byte> GetBytes(SafetensorsTensor tensor, long byteOffset, int byteCount)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (byteOffset < 0 || byteCount < 0 || byteOffset + byteCount > tensor.ByteLength)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset),
                $"bytes [{byteOffset}, {byteOffset + byteCount}) are outside tensor '{tensor.Name}' ({tensor.ByteLength} bytes)");
        }
        return new ReadOnlySpan<byte>(_base + _dataStart + tensor.DataBegin + byteOffset, byteCount);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    private static (Dictionary<string, SafetensorsTensor>, Dictionary<string, string>, long) ParseHeader(
        string path, ReadOnlySpan<byte> file, long fileLength)
    {
        var headerLength = BitConverter.ToUInt64(file[..8]);
        if (headerLength > (ulong)(fileLength - 8) || headerLength > MaxHeaderBytes)
        {
            throw new ModelPrepException(
                $"{path} is truncated or not safetensors: header length {headerLength} runs past the end of the {fileLength}-byte file");
        }
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(file.Slice(8, (int)headerLength).ToArray());
        }
        catch (JsonException ex)
        {
            throw new ModelPrepException($"{path}: the safetensors header is not valid JSON ({ex.Message})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelPrepException($"{path}: the safetensors header is not a JSON object");
            }
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    if (entry.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var m in entry.Value.EnumerateObject())
                        {
                            metadata[m.Name] = m.Value.ToString();
                        }
                    }
                    continue;
                }
                var tensor = ParseEntry(path, entry);
                if (tensor.DataEnd > dataLength)
                {
                    throw new ModelPrepException(
                        $"{path}: tensor '{tensor.Name}' data_offsets [{tensor.DataBegin}, {tensor.DataEnd}] lie outside the {dataLength}-byte data section; the file is truncated or corrupt");
                }
                var size = SafetensorsDtype.ElementSize(tensor.Dtype);
                if (size is not null && tensor.ElementCount * size.Value != tensor.ByteLength)
                {
                    throw new ModelPrepException(
                        $"{path}: tensor '{tensor.Name}' ({tensor.Dtype} [{string.Join(", ", tensor.Shape)}]) needs {tensor.ElementCount * size.Value} bytes but data_offsets span {tensor.ByteLength}");
                }
                tensors[tensor.Name] = tensor;
            }
        }
        return (tensors, metadata, dataStart);
    }

    private static SafetensorsTensor ParseEntry(string path, JsonProperty entry)
    {
        try
        {
            var value = entry.Value;
            var dtype = value.GetProperty("dtype").GetString() ?? throw new FormatException("dtype is null");
            var shape = value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            if (shape.Any(d => d < 0))
            {
                throw new FormatException("negative dimension");
            }
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
            {
                throw new FormatException($"data_offsets [{string.Join(", ", offsets)}] are not [begin, end] with 0 <= begin <= end");
            }
            return new SafetensorsTensor(entry.Name, dtype, shape, offsets[0], offsets[1]);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ModelPrepException($"{path}: header entry for tensor '{entry.Name}' is malformed ({ex.Message})");
        }
    }
}
