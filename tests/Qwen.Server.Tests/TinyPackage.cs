using Qwen.Testing;

namespace Qwen.Server.Tests;

/// <summary>The shared tiny seeded checkpoint converted (fp32) by the real model-prep CLI; cached under artifacts/test-models.</summary>
public static class TinyPackage
{
    public static Task<string> GetAsync() => TestModels.GetPackageAsync("tiny-v1.1-fp32-server", TestCheckpoint.TinyV11, "server-1", async (checkpoint, output) =>
    {
        var result = await ModelPrepCli.RunAsync(["convert", "--input", checkpoint, "--output", output, "--dtype", "fp32"], TimeSpan.FromMinutes(10));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"model-prep convert failed ({result.ExitCode}): {result.StandardError}");
        }
    });
}
