using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Qwen.ModelPrep.Checkpoints;

/// <summary>Streams float32 values into a <c>.safetensors</c> file, converting each tensor to its declared dtype.</summary>
/// <remarks>
/// The header is written first (all tensors are declared up front), then the values of every tensor in declaration
/// order, in as many <see cref="Write"/> calls as the caller likes, so a 15 GB file never needs more than one buffer.
/// The header is padded with spaces to a multiple of 8 bytes, as the reference implementation does.
/// </remarks>
public sealed class SafetensorsWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly IReadOnlyList<SafetensorsTensorSpec> _tensors;
    private int _current;
    private long _writtenInCurrent;
    private bool _completed;

    /// <summary>Creates the file and writes its header.</summary>
    public SafetensorsWriter(string path, IReadOnlyList<SafetensorsTensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        foreach (var t in tensors)
        {
            if (!SafetensorsDtype.IsFloat(t.Dtype))
            {
                throw new ModelPrepException($"cannot write tensor '{t.Name}' as {t.Dtype}; use BF16, F16 or F32");
            }
        }
        if (tensors.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count() != tensors.Count)
        {
            throw new ArgumentException("tensor names must be unique", nameof(tensors));
        }
        Path = path;
        _tensors = tensors;
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        var header = BuildHeader(tensors, metadata ?? new Dictionary<string, string> { ["format"] = "pt" });
        Span<byte> length = stackalloc byte[8];
        BitConverter.TryWriteBytes(length, (ulong)header.Length);
        _stream.Write(length);
        _stream.Write(header);
        SkipEmptyTensors();
    }

    public string Path { get; }

    /// <summary>Appends values, continuing the current tensor and moving on to the next ones as each fills up.</summary>
    public void Write(ReadOnlySpan<float> values)
    {
        while (!values.IsEmpty)
        {
            if (_current >= _tensors.Count)
            {
                throw new InvalidOperationException($"{Path}: {values.Length} values written past the last tensor");
            }
            var tensor = _tensors[_current];
            var take = (int)Math.Min(values.Length, tensor.ElementCount - _writtenInCurrent);
            WriteConverted(tensor.Dtype, values[..take]);
            values = values[take..];
            _writtenInCurrent += take;
            if (_writtenInCurrent == tensor.ElementCount)
            {
                _current++;
                _writtenInCurrent = 0;
                SkipEmptyTensors();
            }
        }
    }

    /// <summary>Checks that every tensor got all its values and flushes the file.</summary>
    public void Complete()
    {
        if (_current < _tensors.Count)
        {
            throw new InvalidOperationException(
                $"{Path}: tensor '{_tensors[_current].Name}' has {_writtenInCurrent} of {_tensors[_current].ElementCount} values; the file is incomplete");
        }
        _stream.Flush();
        _completed = true;
    }

    public void Dispose()
    {
        _stream.Dispose();
        if (!_completed)
        {
            // A half-written file must never look like a checkpoint.
            File.Delete(Path);
        }
    }

    /// <summary>The header JSON (before the 8-byte length) for these tensors, padded with spaces to a multiple of 8.</summary>
    public static byte[] BuildHeader(IReadOnlyList<SafetensorsTensorSpec> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata)
                {
                    json.WriteString(k, v);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.Dtype);
                json.WriteStartArray("shape");
                foreach (var d in t.Shape)
                {
                    json.WriteNumberValue(d);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += t.ByteLength;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        var padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private void SkipEmptyTensors()
    {
        while (_current < _tensors.Count && _tensors[_current].ElementCount == 0)
        {
            _current++;
        }
    }

    private void WriteConverted(string dtype, ReadOnlySpan<float> values)
    {
        const int Chunk = 1 << 16;
        if (dtype == SafetensorsDtype.F32)
        {
            _stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        var scratch = ArrayPool<ushort>.Shared.Rent(Math.Min(values.Length, Chunk));
        try
        {
            for (var start = 0; start < values.Length; start += Chunk)
            {
                var part = values.Slice(start, Math.Min(Chunk, values.Length - start));
                var bits = scratch.AsSpan(0, part.Length);
                if (dtype == SafetensorsDtype.BF16)
                {
                    FloatConversion.SingleToBf16(part, bits);
                }
                else
                {
                    FloatConversion.SingleToHalf(part, MemoryMarshal.Cast<ushort, Half>(bits));
                }
                _stream.Write(MemoryMarshal.AsBytes(bits));
            }
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(scratch);
        }
    }
}
