using Microsoft.Extensions.Configuration;
using Qwen.Inference.Runtime;
using Qwen.Serving.Configuration;
using Qwen.Serving.Http;

namespace Qwen.Serving.Tests.Http;

/// <summary>The engine settings both hosts read (app settings in Azure, switches of the standalone server).</summary>
public sealed class EngineLoaderTests
{
    private static IConfiguration Settings(params (string Name, string Value)[] settings) =>
        new ConfigurationBuilder()
            // App-setting names as Azure sets them: "__" is the section separator, as the environment provider maps it.
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Name.Replace("__", ":", StringComparison.Ordinal), s.Value)))
            .Build();

    [Fact]
    public void ReadOptions_EngineAppSettings_MapToEngineOptions()
    {
        var options = EngineLoader.ReadOptions(Settings(
            (AppSettingNames.ExecutionProvider, "cuda"),
            (AppSettingNames.MaxBatchSize, "4"),
            (AppSettingNames.MaxQueueLength, "64"),
            (AppSettingNames.MaxContext, "2048"),
            (AppSettingNames.KvCacheBudgetBytes, "4294967296")), "/models/pkg");

        Assert.Equal(ExecutionProvider.Cuda, options.Runtime.ExecutionProvider);
        Assert.Equal(2048, options.Runtime.ContextLength);
        Assert.Equal(4, options.Scheduling.MaxBatchSize);
        Assert.Equal(64, options.Scheduling.MaxQueueLength);
        Assert.Equal(4L << 30, options.Scheduling.KvCacheBudgetBytes);
    }

    [Fact]
    public void ReadOptions_NoKvBudget_LeavesTheDefaultShareOfMemory()
    {
        var options = EngineLoader.ReadOptions(Settings(), "/models/pkg");

        Assert.Null(options.Scheduling.KvCacheBudgetBytes);
        Assert.Equal(ExecutionProvider.Cpu, options.Runtime.ExecutionProvider);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("4GiB")]
    public void ReadOptions_BadKvBudget_NamesTheSwitch(string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => EngineLoader.ReadOptions(Settings((AppSettingNames.KvCacheBudgetBytes, value)), "/models/pkg"));

        Assert.Contains("--kv-cache-bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains(value, ex.Message, StringComparison.Ordinal);
    }

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
