using Qwen.Eval;
using Spectre.Console.Cli;

namespace Qwen.Eval.Tests;

public sealed class EvalAppTests
{
    [Theory]
    [InlineData("perplexity", "--lenghts")]
    [InlineData("tools", "--dat")]
    public async Task Run_UnknownOption_RefusedNamingIt(string command, string option)
    {
        var ex = await Assert.ThrowsAnyAsync<CommandAppException>(() => EvalApp.Create(propagateExceptions: true).RunAsync([command, option, "x"]));

        Assert.Contains($"Unknown option '{option.TrimStart('-')}'", ex.Message, StringComparison.Ordinal);
    }
}
