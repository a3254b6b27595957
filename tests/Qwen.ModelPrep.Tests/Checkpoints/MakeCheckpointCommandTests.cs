using System.Security.Cryptography;
using Qwen.ModelPrep.Checkpoints;
using Qwen.Testing;

namespace Qwen.ModelPrep.Tests.Checkpoints;

public class MakeCheckpointCommandTests
{
    [Theory]
    [InlineData("--preset huge", "preset 'huge' is unknown; use one of tiny, small, 1.8b, 7b")]
    [InlineData("--shards 0", "--shards 0 is out of range; the tiny preset has 19 tensors, so use 1…19")]
    [InlineData("--style v2.0", "style 'v2.0' is unknown")]
    [InlineData("--tokenizer /nonexistent/qwen.tiktoken", "tokenizer /nonexistent/qwen.tiktoken does not exist")]
    [InlineData("--dtype int8", "dtype 'int8' is not supported")]
    public async Task MakeCheckpoint_BadOption_ExitsNonZeroWithOneLineAndNoOutput(string option, string expected)
    {
        using var temp = new TempDirectory();
        var output = temp.Combine("out");
        var result = await ModelPrepCli.RunAsync(["make-checkpoint", "--output", output, .. option.Split(' ')]);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(expected, line);
        Assert.False(Directory.Exists(output), "nothing may be written on bad input");
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public async Task MakeCheckpoint_OutputIsANonCheckpointDirectory_RefusesAndKeepsIt()
    {
        using var temp = new TempDirectory();
        var output = temp.Combine("precious");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "notes.txt"), "keep me");
        var result = await ModelPrepCli.RunAsync(["make-checkpoint", "--preset", "tiny", "--output", output]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("exists and is not a checkpoint", Assert.Single(result.ErrorLines));
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
    }

    [Fact]
    public async Task MakeCheckpoint_SameSeed_CliAndLibraryWriteIdenticalBytes()
    {
        using var temp = new TempDirectory();
        var viaCli = temp.Combine("cli");
        var viaLibrary = temp.Combine("lib");
        var result = await ModelPrepCli.RunAsync(["make-checkpoint", "--preset", "tiny", "--seed", "5", "--style", "v1.0", "--shards", "2", "--output", viaCli]);
        Assert.True(result.ExitCode == 0, result.StandardError);
        await CheckpointGenerator.WriteAsync(new CheckpointGeneratorOptions
        {
            Preset = CheckpointPreset.Tiny,
            Seed = 5,
            Style = "v1.0",
            Shards = 2,
            OutputDirectory = viaLibrary,
            TokenizerPath = RepoPaths.Tiktoken,
        });

        string[] expectedFiles =
        [
            "config.json", "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
            "model.safetensors.index.json", "qwen.tiktoken",
        ];
        Assert.Equal(expectedFiles, Directory.GetFiles(viaCli).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Hashes(viaLibrary), Hashes(viaCli));
        Assert.Equal("b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186", Hashes(viaCli)["qwen.tiktoken"]);
        Assert.Empty(Directory.GetDirectories(temp.Path, ".*"));

        // The CLI output is a valid checkpoint of the preset in the requested style.
        using var reader = SafetensorsCheckpointReader.Open(viaCli);
        Assert.Equal(8 * 2 + 3, reader.TensorNames.Count);
        Assert.Equal("v1.0", reader.Config.Architecture.ConfigStyle);
        Assert.Equal(64, reader.Config.Architecture.SeqLength);
        Assert.Equal(512, reader.Config.Architecture.IntermediateSize);
    }

    private static Dictionary<string, string> Hashes(string directory)
        => Directory.GetFiles(directory).ToDictionary(
            f => Path.GetFileName(f)!,
            f =>
            {
                using var s = File.OpenRead(f);
                return Convert.ToHexStringLower(SHA256.HashData(s));
            });
}
