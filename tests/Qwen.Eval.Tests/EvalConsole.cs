namespace Qwen.Eval.Tests;

/// <summary>
/// Tests that run qwen-eval commands share one collection: Spectre.Console allows one live progress display per
/// process, so two commands at once would fail with "interactive functions concurrently".
/// </summary>
public static class EvalConsole
{
    /// <summary>The xunit collection name.</summary>
    public const string Collection = "qwen-eval console";
}
