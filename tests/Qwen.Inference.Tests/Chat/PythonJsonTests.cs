using Qwen.Inference.Chat;

namespace Qwen.Inference.Tests.Chat;

public sealed class PythonJsonTests
{
    [Theory]
    [InlineData("{\"a\":1,\"b\":[true,false,null],\"c\":{}}", "{\"a\": 1, \"b\": [true, false, null], \"c\": {}}")]
    [InlineData("{\"城市\":\"北京\",\"e\":\"é😀\"}", "{\"城市\": \"北京\", \"e\": \"é😀\"}")]
    [InlineData("\"a\\u0001\\\"\\\\/\\n\\t\\b\\f\\r\"", "\"a\\u0001\\\"\\\\/\\n\\t\\b\\f\\r\"")]
    [InlineData("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\": 3, \"b\": 2}")]
    [InlineData("[1.0, 1E2, 1e16, 1e15, 0.00001, 0.0001, 1.5, 0.1, -0.0, 1.50]", "[1.0, 100.0, 1e+16, 1000000000000000.0, 1e-05, 0.0001, 1.5, 0.1, -0.0, 1.5]")]
    [InlineData("[123456789012345678901234567890, -0, 1.7976931348623157e308, 5e-324, 123.456e-10]", "[123456789012345678901234567890, 0, 1.7976931348623157e+308, 5e-324, 1.23456e-08]")]
    [InlineData("[]", "[]")]
    public void Dumps_MatchesPythonJsonDumpsEnsureAsciiFalse(string json, string expected)
    {
        Assert.Equal(expected, PythonJson.Dumps(json));
    }
}
