using Qwen.ModelPrep.Checkpoints;

namespace Qwen.ModelPrep.Tests.Checkpoints;

public class SafetensorsRoundTripTests
{
    [Theory]
    [InlineData(SafetensorsDtype.BF16)]
    [InlineData(SafetensorsDtype.F16)]
    [InlineData(SafetensorsDtype.F32)]
    public void WriteThenRead_EachDtype_ValuesComeBackExactly(string dtype)
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("t.safetensors");
        // Values exactly representable in bf16 and fp16, so every dtype must return them unchanged.
        var a = Enumerable.Range(0, 3 * 40).Select(i => (i - 60) * 0.25f).ToArray();
        var b = new[] { 1.5f, -0.125f, 3f };
        var specs = new[] { new SafetensorsTensorSpec("a", dtype, [3, 40]), new SafetensorsTensorSpec("b", dtype, [3]) };
        using (var writer = new SafetensorsWriter(path, specs))
        {
            writer.Write(a.AsSpan(0, 50)); // writes may split tensors anywhere…
            writer.Write([.. a.AsSpan(50), .. b]); // …and cross from one tensor into the next
            writer.Complete();
        }

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["a", "b"], file.Tensors.Keys);
        Assert.Equal(dtype, file.Tensors["a"].Dtype);
        Assert.Equal([3L, 40L], file.Tensors["a"].Shape);
        Assert.Equal(0, (new FileInfo(path).Length - file.Tensors["b"].DataEnd - 8) % 8);
        Assert.Equal(a, ReadAll(file, "a"));
        Assert.Equal(b, ReadAll(file, "b"));
    }

    [Fact]
    public void Writer_DisposedBeforeComplete_DeletesPartialFile()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("partial.safetensors");
        using (var writer = new SafetensorsWriter(path, [new SafetensorsTensorSpec("a", SafetensorsDtype.F32, [4])]))
        {
            writer.Write([1f, 2f]);
            var ex = Assert.Throws<InvalidOperationException>(writer.Complete);
            Assert.Contains("'a' has 2 of 4 values", ex.Message);
        }
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void BuildHeader_TwoTensors_MatchesSafetensorsLayout()
    {
        var header = SafetensorsWriter.BuildHeader(
            [new SafetensorsTensorSpec("x", SafetensorsDtype.BF16, [2, 3]), new SafetensorsTensorSpec("y", SafetensorsDtype.F32, [1])],
            new Dictionary<string, string> { ["format"] = "pt" });
        var text = System.Text.Encoding.UTF8.GetString(header);
        Assert.Equal(
            "{\"__metadata__\":{\"format\":\"pt\"},\"x\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,12]},\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
            text.TrimEnd(' '));
        Assert.Equal(0, header.Length % 8);
    }

    private static float[] ReadAll(SafetensorsFile file, string name)
    {
        var t = file.Tensors[name];
        var bytes = file.GetBytes(t, 0, (int)t.ByteLength);
        var result = new float[t.ElementCount];
        switch (t.Dtype)
        {
            case SafetensorsDtype.BF16:
                FloatConversion.Bf16ToSingle(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(bytes), result);
                break;
            case SafetensorsDtype.F16:
                FloatConversion.HalfToSingle(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(bytes), result);
                break;
            default:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result);
                break;
        }
        return result;
    }
}
