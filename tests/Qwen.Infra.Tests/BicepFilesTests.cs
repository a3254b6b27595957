using Qwen.Infra.Tests.Bicep;

namespace Qwen.Infra.Tests;

/// <summary>Every Bicep file builds and lints with zero diagnostics, and bicepconfig.json makes lint fail.</summary>
[Collection(InfraCollection.Name)]
public sealed class BicepFilesTests(InfraFixture infra)
{
    /// <summary>infra/**/*.bicep relative to infra/.</summary>
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in InfraFixture.BicepFiles)
        {
            data.Add(Path.GetRelativePath(InfraFixture.InfraDirectory, file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Build_File_HasNoDiagnosticsAndWritesArmJson(string file)
    {
        var path = Path.Combine(InfraFixture.InfraDirectory, file);
        var diagnostics = infra.Build.Diagnostics.Where(d => d.Path == path).ToArray();
        Assert.True(diagnostics.Length == 0, $"bicep build {file}:\n{string.Join('\n', diagnostics)}");
        Assert.True(infra.Compiled.ContainsKey(path), $"bicep build wrote no ARM JSON for {file}.\n{infra.Build}");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Lint_File_HasNoDiagnostics(string file)
    {
        var path = Path.Combine(InfraFixture.InfraDirectory, file);
        var diagnostics = infra.Lint.Diagnostics.Where(d => d.Path == path).ToArray();
        Assert.True(diagnostics.Length == 0, $"bicep lint {file}:\n{string.Join('\n', diagnostics)}");
    }

    [Fact]
    public void BuildAndLint_AllFiles_ExitZeroAndPrintNothingElse()
    {
        Assert.True(InfraFixture.BicepFiles.Count >= 10, $"Expected main.bicep and its modules; found {InfraFixture.BicepFiles.Count} files.");
        foreach (var (verb, run) in new[] { ("build", infra.Build), ("lint", infra.Lint) })
        {
            Assert.True(run.ExitCode == 0, $"bicep {verb} failed: {run}");
            var lines = run.Lines.ToArray();
            Assert.True(lines.Length == 0, $"bicep {verb} printed:\n{string.Join('\n', lines)}");
        }
    }

    // One lint run over three broken files: each breaks one rule bicepconfig.json raises to error.
    private static readonly Dictionary<string, string> BrokenFiles = new()
    {
        ["no-unused-params"] = "param unused string\n",
        ["outputs-should-not-contain-secrets"] = "@secure()\nparam token string\noutput leaked string = token\n",
        ["no-hardcoded-location"] = "resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {\n  name: 'id-x'\n  location: 'westeurope'\n}\n",
    };

    private static readonly Lazy<Task<(string Directory, BicepRun Run)>> BrokenLint = new(async () =>
    {
        var dir = Directory.CreateTempSubdirectory("qwen-bicepconfig-").FullName;
        foreach (var (rule, source) in BrokenFiles)
        {
            await File.WriteAllTextAsync(Path.Combine(dir, rule + ".bicep"), source);
        }
        var config = Path.Combine(InfraFixture.InfraDirectory, "bicepconfig.json");
        var run = await BicepCli.RunAsync(dir, ["lint", "--pattern", "*.bicep", "--config", config]);
        Directory.Delete(dir, recursive: true);
        return (dir, run);
    });

    [Theory]
    [InlineData("no-unused-params")]
    [InlineData("outputs-should-not-contain-secrets")]
    [InlineData("no-hardcoded-location")]
    public async Task BicepConfig_RuleViolation_IsAnErrorThatFailsLint(string rule)
    {
        var (dir, run) = await BrokenLint.Value;
        Assert.NotEqual(0, run.ExitCode);
        var file = Path.Combine(dir, rule + ".bicep");
        Assert.Contains(run.Diagnostics, d => d.Path == file && d.Code == rule && d.Level == "Error");
    }
}
