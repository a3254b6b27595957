using Qwen.Testing;

namespace Qwen.ModelPrep.Tests.Conversion;

public sealed class ConvertCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-convert-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Convert_MissingCheckpoint_ExitsNonZeroWithOneErrorLine()
    {
        var missing = Path.Combine(_dir, "nope");

        var result = await ModelPrepCli.RunAsync(["convert", "--input", missing, "--output", Path.Combine(_dir, "pkg")]);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("model-prep: ", line, StringComparison.Ordinal);
        Assert.Contains(missing, line, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public async Task Convert_ExistingNonPackageOutput_ExitsNonZeroAndKeepsIt()
    {
        var output = Directory.CreateDirectory(Path.Combine(_dir, "occupied")).FullName;
        File.WriteAllText(Path.Combine(output, "mine.txt"), "x");

        var result = await ModelPrepCli.RunAsync(["convert", "--input", _dir, "--output", output, "--dtype", "int4"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"model-prep: output {output} exists and is not a model package; choose another directory or pass --force to replace it.",
            Assert.Single(result.ErrorLines));
        Assert.Equal(["mine.txt"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Convert_UnknownDtype_ExitsWithUsageError()
    {
        var result = await ModelPrepCli.RunAsync(["convert", "--input", _dir, "--output", Path.Combine(_dir, "pkg"), "--dtype", "int8"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("model-prep: --dtype int8 is not supported; use fp32, fp16 or int4.", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public async Task Convert_UnknownKvDtype_ExitsWithUsageError()
    {
        var result = await ModelPrepCli.RunAsync(["convert", "--input", _dir, "--output", Path.Combine(_dir, "pkg"), "--dtype", "int4", "--kv-dtype", "int8"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("model-prep: --kv-dtype int8 is not supported; use fp32 or fp16.", Assert.Single(result.ErrorLines));
    }
}
