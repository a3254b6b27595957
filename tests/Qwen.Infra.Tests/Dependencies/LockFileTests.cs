using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Qwen.Testing;

namespace Qwen.Infra.Tests.Dependencies;

/// <summary>
/// The committed lock files are what a locked restore builds, and a version change that skips
/// eng/update-lock-files.sh is refused instead of floating (issue 9).
/// </summary>
/// <remarks>
/// Each restore case runs in a scratch copy of the repository's MSBuild files and one project, so the real obj/
/// folders are never touched; packages come from the machine's NuGet cache, which the solution build filled.
/// </remarks>
public sealed partial class LockFileTests
{
    private static readonly string[] Projects = Directory
        .EnumerateFiles(RepoPaths.Root, "*.csproj", SearchOption.AllDirectories)
        .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !p.Contains("node_modules"))
        .ToArray();

    [Fact]
    public void EveryProject_CommitsBothLockFiles()
    {
        Assert.NotEmpty(Projects);
        Assert.All(Projects, project =>
        {
            var dir = Path.GetDirectoryName(project)!;
            Assert.True(File.Exists(Path.Combine(dir, "packages.lock.json")), $"{project} has no packages.lock.json; run eng/update-lock-files.sh.");
            Assert.True(File.Exists(Path.Combine(dir, "packages.cuda.lock.json")), $"{project} has no packages.cuda.lock.json; run eng/update-lock-files.sh.");
        });
    }

    [Fact]
    public void EveryResolvedPackage_IsPinnedCentrally_AtTheLockedVersion()
    {
        var pins = PinnedVersions(File.ReadAllText(Path.Combine(RepoPaths.Root, "Directory.Packages.props")));
        foreach (var project in Projects)
        {
            // A project may override a central version for itself only (the GenAI peer runs another ONNX Runtime): the
            // override is then the pin for that project's lock files.
            var overrides = Regex.Matches(File.ReadAllText(project), "<PackageReference Include=\"([^\"]+)\" VersionOverride=\"([^\"]+)\"")
                .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.OrdinalIgnoreCase);
            foreach (var lockFile in new[] { "packages.lock.json", "packages.cuda.lock.json" }.Select(f => Path.Combine(Path.GetDirectoryName(project)!, f)))
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(lockFile));
                foreach (var framework in doc.RootElement.GetProperty("dependencies").EnumerateObject())
                foreach (var package in framework.Value.EnumerateObject())
                {
                    if (package.Value.GetProperty("type").GetString() == "Project") continue;
                    var expected = overrides.TryGetValue(package.Name, out var own) ? own : pins.GetValueOrDefault(package.Name);
                    Assert.True(expected is not null, $"{lockFile}: {package.Name} is not pinned in Directory.Packages.props.");
                    Assert.True(expected == package.Value.GetProperty("resolved").GetString(),
                        $"{lockFile}: {package.Name} resolved {package.Value.GetProperty("resolved").GetString()}, pinned {expected}.");
                }
            }
        }
    }

    [Fact]
    public async Task LockedRestore_CommittedLockFile_Succeeds()
    {
        using var scratch = ScratchCopy("functions/Qwen.Inference");
        var (exit, output) = await RestoreLockedAsync(scratch.Path, "functions/Qwen.Inference");
        Assert.True(exit == 0, $"locked restore failed on the committed lock file:\n{output}");
    }

    [Theory]
    [InlineData("Microsoft.ML.Tokenizers", "2.0.0")]            // direct reference of Qwen.Inference
    [InlineData("Microsoft.Extensions.Primitives", "10.0.0")]   // transitive only, pinned by the generated group
    public async Task LockedRestore_VersionChangedWithoutRefreshingLockFiles_FailsWithNu1004(string package, string version)
    {
        using var scratch = ScratchCopy("functions/Qwen.Inference");
        var props = Path.Combine(scratch.Path, "Directory.Packages.props");
        var text = File.ReadAllText(props);
        var changed = Regex.Replace(text, $"(<PackageVersion Include=\"{Regex.Escape(package)}\" Version=\")[^\"]+(\")", $"${{1}}{version}$2");
        Assert.NotEqual(text, changed);
        File.WriteAllText(props, changed);

        var (exit, output) = await RestoreLockedAsync(scratch.Path, "functions/Qwen.Inference");

        Assert.NotEqual(0, exit);
        Assert.Contains("NU1004", output);
    }

    private static Dictionary<string, string> PinnedVersions(string props) =>
        PackageVersionPattern().Matches(props).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.OrdinalIgnoreCase);

    [GeneratedRegex("<PackageVersion Include=\"([^\"]+)\" Version=\"([^\"]+)\"")]
    private static partial Regex PackageVersionPattern();

    private static ScratchDirectory ScratchCopy(string projectDir)
    {
        var scratch = new ScratchDirectory();
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            File.Copy(Path.Combine(RepoPaths.Root, file), Path.Combine(scratch.Path, file));
        var source = Path.Combine(RepoPaths.Root, projectDir);
        var target = Directory.CreateDirectory(Path.Combine(scratch.Path, projectDir)).FullName;
        foreach (var file in Directory.EnumerateFiles(source, "*.csproj").Append(Path.Combine(source, "packages.lock.json")))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return scratch;
    }

    private static async Task<(int Exit, string Output)> RestoreLockedAsync(string root, string projectDir)
    {
        var start = new ProcessStartInfo("dotnet", ["restore", projectDir, "--locked-mode", "-nologo"])
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet restore");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private sealed class ScratchDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("qwen-lock-").FullName;

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }
}
