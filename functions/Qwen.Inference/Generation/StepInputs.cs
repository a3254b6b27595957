using Microsoft.ML.OnnxRuntime;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;

namespace Qwen.Inference.Generation;

/// <summary>
/// The small per-call inputs of the graph for one sequence of <see cref="Length"/> tokens, as OrtValues over pinned
/// managed arrays: refill the arrays and run again without any allocation.
/// </summary>
internal sealed class StepInputs : IDisposable
{
    private readonly OrtValue[] _values;

    public StepInputs(int length, int headDim, bool scalarTotalLength)
    {
        Length = length;
        var half = headDim / 2;
        InputIds = new long[length];      // [1, T]
        Cos = new float[length * half];   // [1, T, d/2]
        Sin = new float[length * half];   // [1, T, d/2]
        Logn = new float[length];         // [1, T]
        SeqLensK = new int[1];            // [1]
        TotalLength = new int[1];         // [] or [1]
        LogitsIndices = new long[1];      // [1]
        _values = OrtGuard.Invoke("create step inputs", () => new[]
        {
            OrtValue.CreateTensorValueFromMemory(InputIds, [1, length]),
            OrtValue.CreateTensorValueFromMemory(Cos, [1, length, half]),
            OrtValue.CreateTensorValueFromMemory(Sin, [1, length, half]),
            OrtValue.CreateTensorValueFromMemory(Logn, [1, length]),
            OrtValue.CreateTensorValueFromMemory(SeqLensK, [1]),
            OrtValue.CreateTensorValueFromMemory(TotalLength, scalarTotalLength ? [] : [1]),
            OrtValue.CreateTensorValueFromMemory(LogitsIndices, [1]),
        });
    }

    public int Length { get; }
    public long[] InputIds { get; }
    public float[] Cos { get; }
    public float[] Sin { get; }
    public float[] Logn { get; }
    public int[] SeqLensK { get; }
    public int[] TotalLength { get; }
    public long[] LogitsIndices { get; }

    /// <summary>Fills the inputs for tokens at absolute positions <paramref name="startPosition"/>… with logits for the last one.</summary>
    public void Fill(ReadOnlySpan<int> tokens, int startPosition, RotaryEmbedding rotary, ModelArchitecture architecture)
    {
        if (tokens.Length != Length)
        {
            throw new ArgumentException($"Expected {Length} tokens, got {tokens.Length}.", nameof(tokens));
        }
        for (var t = 0; t < tokens.Length; t++)
        {
            InputIds[t] = tokens[t];
        }
        rotary.Fill(startPosition, Cos, Sin);
        LongContext.FillLognScale(architecture, startPosition, Logn);
        var total = startPosition + Length;
        SeqLensK[0] = total - 1;
        TotalLength[0] = total;
        LogitsIndices[0] = Length - 1;
    }

    public void BindTo(OrtIoBinding binding, GraphIo io)
    {
        OrtGuard.Invoke("bind step inputs", () =>
        {
            binding.BindInput(io.InputIds, _values[0]);
            binding.BindInput(io.RopeCos, _values[1]);
            binding.BindInput(io.RopeSin, _values[2]);
            binding.BindInput(io.LognScale, _values[3]);
            binding.BindInput(io.SeqLensK, _values[4]);
            binding.BindInput(io.TotalSequenceLength, _values[5]);
            binding.BindInput(io.LogitsIndices, _values[6]);
        });
    }

    public void Dispose()
    {
        foreach (var value in _values)
        {
            value.Dispose();
        }
    }
}
