using Qwen.Serving.Tools;

namespace Qwen.Serving.Tests.Tools;

public sealed class CalculatorToolTests
{
    [Theory]
    [InlineData("{\"expression\": \"(2+3)*4\"}", "20")]
    [InlineData("2 + 3 * 4", "14")]
    [InlineData("2^3^2", "512")]
    [InlineData("-2^2", "-4")]
    [InlineData("7 % 4 + 10 / 4", "5.5")]
    [InlineData("1.5e3 - -2", "1502")]
    [InlineData("0.1 + 0.2", "0.3")]
    [InlineData("((((1))))", "1")]
    public async Task InvokeAsync_Arithmetic_ExactResult(string arguments, string expected)
        => Assert.Equal(expected, await new CalculatorTool().InvokeAsync(arguments));

    [Theory]
    [InlineData("1/0", "Division by zero at position 3 in '1/0'.")]
    [InlineData("2 +", "The expression '2 +' ends where a number was expected.")]
    [InlineData("(1+2", "Missing ')' at position 5 in '(1+2'.")]
    [InlineData("System.IO.File.Delete(\"x\")", "Expected a number at position 1 in 'System.IO.File.Delete(\"x\")'.")]
    [InlineData("2 3", "Unexpected '3' at position 3 in '2 3'.")]
    [InlineData("{\"expr\": \"1\"}", "The calculator takes {\"expression\": \"<arithmetic>\"}.")]
    [InlineData("10^400", "'10^400' does not evaluate to a finite number.")]
    public async Task InvokeAsync_BadInput_ArgumentExceptionSaysWhy(string arguments, string message)
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => new CalculatorTool().InvokeAsync(arguments));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void Evaluate_DeepNesting_RefusedBeforeStackOverflow()
    {
        var ex = Assert.Throws<ArgumentException>(() => CalculatorTool.Evaluate(new string('(', 100) + "1" + new string(')', 100)));
        Assert.Equal("The expression nests deeper than 64 levels.", ex.Message);
    }
}
