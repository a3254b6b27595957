using Microsoft.Extensions.Configuration;
using Qwen.Serving.Http;

namespace Qwen.Serving.Tests.Http;

public sealed class EngineLoaderTests
{
    [Theory]
    [InlineData(null, null, null, null)]
    [InlineData("off", "off", false, false)]
    [InlineData("on", "false", true, false)]
    [InlineData("package", "ON", null, true)]
    public void ReadOptions_LongContextSwitches_OverrideOrFollowThePackage(string? ntk, string? logn, bool? expectedNtk, bool? expectedLogn)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Qwen:Engine:DynamicNtk"] = ntk,
            ["Qwen:Engine:LognAttention"] = logn,
        }).Build();
        var options = EngineLoader.ReadOptions(configuration, "/models/x");
        Assert.Equal(expectedNtk, options.Runtime.DynamicNtk);
        Assert.Equal(expectedLogn, options.Runtime.LognAttention);
    }

    [Fact]
    public void ReadOptions_UnknownSwitchValue_NamesTheFlag()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Qwen:Engine:LognAttention"] = "maybe" }).Build();
        var error = Assert.Throws<ArgumentException>(() => EngineLoader.ReadOptions(configuration, "/models/x"));
        Assert.Contains("--logn 'maybe'", error.Message, StringComparison.Ordinal);
    }
}
