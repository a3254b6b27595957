using Qwen.ModelPrep.Checkpoints;

namespace Qwen.ModelPrep.Tests.Checkpoints;

public class FloatConversionTests
{
    [Fact]
    public void SingleToBf16_HalfwayCases_RoundToNearestEven()
    {
        float[] values =
        [
            1.0f,
            BitConverter.Int32BitsToSingle(0x3F80_8000), // exactly halfway between 1.0 and the next bf16, even → down
            BitConverter.Int32BitsToSingle(0x3F81_8000), // halfway, odd low bit → up
            BitConverter.Int32BitsToSingle(0x3F80_8001), // just above halfway → up
            -2.5f,
            float.NaN,
            float.PositiveInfinity,
        ];
        // Enough copies to pass through the vector path as well as the scalar tail.
        var many = Enumerable.Repeat(values, 5).SelectMany(v => v).ToArray();
        var bits = new ushort[many.Length];
        FloatConversion.SingleToBf16(many, bits);
        ushort[] expected = [0x3F80, 0x3F80, 0x3F82, 0x3F81, 0xC020, 0xFFC0, 0x7F80];
        for (var i = 0; i < many.Length; i++)
        {
            if (float.IsNaN(many[i]))
            {
                Assert.True((bits[i] & 0x7F80) == 0x7F80 && (bits[i] & 0x7F) != 0, $"NaN became 0x{bits[i]:X4}");
            }
            else
            {
                Assert.Equal(expected[i % values.Length], bits[i]);
            }
        }
    }

    [Fact]
    public void Bf16ToSingle_AllLengths_ExactUpperHalf()
    {
        for (var length = 0; length < 70; length++)
        {
            var source = Enumerable.Range(0, length).Select(i => (ushort)(0x3F80 + i * 3)).ToArray();
            var destination = new float[length];
            FloatConversion.Bf16ToSingle(source, destination);
            for (var i = 0; i < length; i++)
            {
                Assert.Equal(BitConverter.Int32BitsToSingle(source[i] << 16), destination[i]);
            }
        }
    }

    [Fact]
    public void HalfRoundTrip_RepresentableValues_Exact()
    {
        float[] values = [0f, 1f, -1.5f, 65504f, 0.000061035156f, 3.140625f];
        var halves = new Half[values.Length];
        var back = new float[values.Length];
        FloatConversion.SingleToHalf(values, halves);
        FloatConversion.HalfToSingle(halves, back);
        Assert.Equal(values, back);
    }
}
