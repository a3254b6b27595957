using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;

namespace Qwen.Inference.Tests.Runtime;

public class LongContextTests
{
    [Theory]
    [InlineData(1, 2048, 1)]
    [InlineData(2048, 2048, 1)]
    [InlineData(2049, 2048, 3)]
    [InlineData(4096, 2048, 3)]
    [InlineData(4097, 2048, 7)]
    [InlineData(8192, 2048, 7)]
    [InlineData(8193, 2048, 15)]
    [InlineData(16385, 2048, 31)]
    [InlineData(32767, 2048, 31)]
    [InlineData(8192, 8192, 1)]
    [InlineData(8193, 8192, 3)]
    [InlineData(16385, 8192, 7)]
    [InlineData(32767, 8192, 7)]
    [InlineData(64, 64, 1)]
    [InlineData(65, 64, 3)]
    [InlineData(129, 64, 7)]
    public void NtkAlpha_SpecTable_Matches(int length, int seqLength, int expected)
    {
        Assert.Equal(expected, LongContext.NtkAlpha(length, seqLength));
    }

    [Theory]
    [InlineData(2048)]
    [InlineData(8192)]
    [InlineData(64)]
    public void NtkAlpha_EveryLengthUpTo32767_EqualsTheReferenceFloatFormula(int seqLength)
    {
        for (var length = 1; length <= LongContext.LognHardLimit; length++)
        {
            var contextValue = Math.Log2((double)length / seqLength) + 1;
            var reference = Math.Max((int)Math.Pow(2, Math.Ceiling(contextValue)) - 1, 1);
            Assert.True(reference == LongContext.NtkAlpha(length, seqLength), $"L={length}, S={seqLength}");
        }
    }

    [Theory]
    [InlineData(1, 10000.0)]
    [InlineData(3, 30527.737)]
    [InlineData(7, 72195.860)]
    [InlineData(15, 156588.32)]
    [InlineData(31, 327366.40)]
    public void RotaryBase_SpecValues_Match(int alpha, double expected)
    {
        Assert.Equal(expected, LongContext.RotaryBase(10000, alpha, 128), 1e-7 * expected);
    }

    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(2047, 1.0)]
    [InlineData(2048, 1.0000640)]
    [InlineData(4095, 1.0909091)]
    [InlineData(8191, 1.1818182)]
    [InlineData(16383, 1.2727273)]
    [InlineData(32766, 1.3636324)]
    public void LognScale_SpecTable_Matches(int position, double expected)
    {
        Assert.Equal(expected, LongContext.LognScale(position, 2048), 6);
    }

    [Fact]
    public void FillLognScale_LognOff_IsAllOnes()
    {
        var arch = Architecture(useLogn: false);
        var values = new float[4];
        LongContext.FillLognScale(arch, 100, values);
        Assert.Equal([1f, 1f, 1f, 1f], values);
        LongContext.FillLognScale(arch with { UseLognAttn = true }, 62, values);
        Assert.Equal([1f, 1f, (float)(Math.Log(65) / Math.Log(64)), (float)(Math.Log(66) / Math.Log(64))], values);
    }

    [Fact]
    public void ResolveContextLength_LognOnAndHugeMaxContext_CapsAt32767AndRefusesMore()
    {
        var arch = Architecture(useLogn: true) with { MaxContext = 40000 };
        Assert.Equal(32767, LongContext.ResolveContextLength(arch, null));
        Assert.Equal(1000, LongContext.ResolveContextLength(arch, 1000));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => LongContext.ResolveContextLength(arch, 32768));
        Assert.Contains("32,767", ex.Message);
    }

    [Fact]
    public void RotaryEmbedding_Rows_AreCosSinOfPositionTimesInverseFrequency()
    {
        var rotary = new RotaryEmbedding(headDim: 8, baseFrequency: 10000, alpha: 3);
        var expectedBase = 10000 * Math.Pow(3, 8 / 6.0);
        Assert.Equal(expectedBase, rotary.Base, 1e-9 * expectedBase);
        var cos = new float[2 * 4];
        var sin = new float[2 * 4];
        rotary.Fill(5, cos, sin);
        for (var r = 0; r < 2; r++)
        {
            for (var i = 0; i < 4; i++)
            {
                var angle = (5 + r) * Math.Pow(expectedBase, -2.0 * i / 8);
                Assert.Equal((float)Math.Cos(angle), cos[r * 4 + i]);
                Assert.Equal((float)Math.Sin(angle), sin[r * 4 + i]);
            }
        }
    }

    internal static ModelArchitecture Architecture(bool useLogn) => new()
    {
        HiddenSize = 64, NumLayers = 2, NumHeads = 4, HeadDim = 16, IntermediateSize = 128, VocabSize = 151936,
        SeqLength = 64, RotaryBase = 10000, RmsNormEps = 1e-6, UseDynamicNtk = true, UseLognAttn = useLogn,
        ConfigStyle = "v1.1", MaxContext = 256,
    };
}
