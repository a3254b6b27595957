using Qwen.Testing;

namespace Qwen.ModelPrep.Tests;

/// <summary>Every model-prep command refuses an option it does not know (a typo must never fall back to a default silently).</summary>
public sealed class UnknownOptionTests
{
    [Theory]
    [InlineData("dtyp", "convert", "--input", "in", "--output", "out", "--dtyp", "int4")]
    [InlineData("sead", "make-checkpoint", "--preset", "tiny", "--output", "out", "--sead", "2")]
    [InlineData("frm", "tokenizer", "--from-hf", "a.json", "--output", "b", "--frm", "x")]
    [InlineData("max-token", "generate", "--package", "p", "--chat", "hi", "--max-token", "3")]
    [InlineData("vers", "upload", "--package", "p", "--container-uri", "https://a.invalid/models", "--name", "n", "--version", "1", "--vers", "2")]
    public async Task Command_UnknownOption_Exit2NamingIt(string option, params string[] args)
    {
        var result = await ModelPrepCli.RunAsync(args, TimeSpan.FromMinutes(2));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"Unknown option '{option}'.", result.StandardError, StringComparison.Ordinal);
    }
}
