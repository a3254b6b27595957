using Qwen.Serving.Orchestrations;
using Qwen.Serving.Tests.Orchestrations;
using Qwen.Serving.Tools;

namespace Qwen.Serving.Tests.Tools;

public sealed class ToolRegistryTests
{
    [Fact]
    public async Task CallTool_RegisteredButNotAllowListed_ThrowsAndNeverRuns()
    {
        var spy = new SpyTool();
        var registry = new ToolRegistry([new CalculatorTool(), spy], new OrchestrationOptions { AllowedTools = ["calculator"] });

        var ex = await Assert.ThrowsAsync<UnauthorizedAccessException>(
            () => new CallToolActivity(registry).ExecuteAsync(new ToolCall("shell", "{}"), CancellationToken.None));

        Assert.Equal("The tool 'shell' is not in the allow-list; it was not run.", ex.Message);
        Assert.Equal(0, spy.Invocations);
        Assert.Equal(["calculator"], registry.Allowed.Select(t => t.Name));
    }

    [Fact]
    public void ListTools_RequestedNames_IntersectedWithAllowList()
    {
        var registry = new ToolRegistry([new CalculatorTool(), new UtcClockTool(TimeProvider.System), new SpyTool()],
            new OrchestrationOptions { AllowedTools = ["calculator", "utc_now"] });
        var activity = new ListToolsActivity(registry);

        Assert.Equal(["calculator"], activity.Execute(["shell", "calculator", "nope"]).Select(t => t.Name));
        Assert.Equal(["calculator", "utc_now"], activity.Execute([]).Select(t => t.Name));
    }

    [Fact]
    public void Registry_DuplicateNames_Refused()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new ToolRegistry([new CalculatorTool(), new CalculatorTool()], new OrchestrationOptions()));
        Assert.Equal("Two tools are registered with the name 'calculator'; tool names must be unique.", ex.Message);
    }
}
