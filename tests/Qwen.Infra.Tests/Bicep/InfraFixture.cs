using System.Text.Json.Nodes;
using Qwen.Infra.Tests.Arm;
using Qwen.Testing;

namespace Qwen.Infra.Tests.Bicep;

/// <summary>
/// Lints and builds every infra/**/*.bicep file once per test run (two CLI processes, run side by side) and
/// keeps the results: diagnostics per file and the compiled ARM JSON of each file.
/// </summary>
public sealed class InfraFixture : IAsyncLifetime
{
    private const string Pattern = "infra/**/*.bicep";
    private readonly string _outDir = Path.Combine(Path.GetTempPath(), $"qwen-infra-tests-{Guid.NewGuid():N}");

    /// <summary>The repository's infra directory.</summary>
    public static string InfraDirectory => Path.Combine(RepoPaths.Root, "infra");

    /// <summary>Every Bicep file under infra/, as full paths.</summary>
    public static IReadOnlyList<string> BicepFiles =>
        Directory.EnumerateFiles(InfraDirectory, "*.bicep", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The <c>bicep lint --pattern</c> run.</summary>
    public BicepRun Lint { get; private set; } = null!;

    /// <summary>The <c>bicep build --pattern</c> run.</summary>
    public BicepRun Build { get; private set; } = null!;

    /// <summary>Compiled ARM JSON by Bicep file path (full path).</summary>
    public IReadOnlyDictionary<string, JsonObject> Compiled { get; private set; } = null!;

    /// <summary>infra/main.bicep compiled to ARM JSON.</summary>
    public JsonObject MainTemplate => Compiled[Path.Combine(InfraDirectory, "main.bicep")];

    /// <summary>Parameter values the template is evaluated with, as azd would pass them.</summary>
    public static IReadOnlyDictionary<string, object?> DeploymentParameters { get; } = new Dictionary<string, object?>
    {
        ["environmentName"] = "qwen-test",
        ["location"] = "westus3",
        ["qwenApiKey"] = new Unresolved("parameters('qwenApiKey')"),
        ["qwenWorkerKey"] = new Unresolved("parameters('qwenWorkerKey')"),
        ["principalId"] = DeployerPrincipalId,
    };

    /// <summary>The deployer object ID passed as <c>principalId</c>.</summary>
    public const string DeployerPrincipalId = "11111111-2222-3333-4444-555555555555";

    /// <summary>A fresh evaluation tree over <paramref name="template"/> (default: main.bicep's ARM JSON).</summary>
    public ArmDeployment Deploy(JsonObject? template = null) => ArmDeployment.Root(template ?? MainTemplate, DeploymentParameters);

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_outDir);
        var lint = BicepCli.RunAsync(RepoPaths.Root, ["lint", "--pattern", Pattern]);
        var build = BicepCli.RunAsync(RepoPaths.Root, ["build", "--pattern", Pattern, "--outdir", _outDir]);
        Lint = await lint;
        Build = await build;

        var compiled = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var file in BicepFiles)
        {
            var relative = Path.GetRelativePath(InfraDirectory, file);
            var json = Path.Combine(_outDir, Path.ChangeExtension(relative, ".json"));
            if (File.Exists(json))
            {
                compiled[file] = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(json))!;
            }
        }
        Compiled = compiled;
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        Directory.Delete(_outDir, recursive: true);
        return Task.CompletedTask;
    }
}
