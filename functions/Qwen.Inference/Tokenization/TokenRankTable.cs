using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Qwen.Inference.Tokenization;

/// <summary>Byte string → rank lookup over one contiguous buffer (open addressing; no per-token objects).</summary>
/// <remarks>Immutable after construction, so concurrent reads are safe.</remarks>
internal sealed class TokenRankTable
{
    private readonly byte[] _bytes;
    private readonly int[] _offsets; // [count + 1]
    private readonly int[] _slots;   // id + 1, 0 = empty
    private readonly int _mask;

    public TokenRankTable(byte[] bytes, int[] offsets)
    {
        _bytes = bytes;
        _offsets = offsets;
        int count = offsets.Length - 1;
        int size = 1;
        while (size < count * 2) size <<= 1;
        _slots = new int[size];
        _mask = size - 1;
        for (int id = 0; id < count; id++)
        {
            var key = GetBytes(id);
            int slot = (int)Hash(key) & _mask;
            while (_slots[slot] != 0)
            {
                if (GetBytes(_slots[slot] - 1).SequenceEqual(key))
                {
                    throw new InvalidDataException($"token {id} repeats the bytes of token {_slots[slot] - 1}; the vocabulary is corrupt.");
                }
                slot = (slot + 1) & _mask;
            }
            _slots[slot] = id + 1;
        }
    }

    public int Count => _offsets.Length - 1;

    public ReadOnlySpan<byte> GetBytes(int id) => _bytes.AsSpan(_offsets[id], _offsets[id + 1] - _offsets[id]);

    /// <summary>The rank of <paramref name="key"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int GetRank(ReadOnlySpan<byte> key)
    {
        int slot = (int)Hash(key) & _mask;
        while (true)
        {
            int entry = _slots[slot];
            if (entry == 0) return -1;
            int id = entry - 1;
            int start = _offsets[id];
            if (_offsets[id + 1] - start == key.Length && _bytes.AsSpan(start, key.Length).SequenceEqual(key)) return id;
            slot = (slot + 1) & _mask;
        }
    }

    private static ulong Hash(ReadOnlySpan<byte> key)
    {
        ulong h = (ulong)key.Length * 0x9E3779B97F4A7C15UL;
        while (key.Length >= 8)
        {
            h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(key)) * 0xBF58476D1CE4E5B9UL;
            h ^= h >> 31;
            key = key[8..];
        }
        ulong tail = 0;
        for (int i = 0; i < key.Length; i++) tail |= (ulong)key[i] << (8 * i);
        h = (h ^ tail) * 0x94D049BB133111EBUL;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 32;
        return h;
    }
}
