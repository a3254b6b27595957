using System.Runtime.CompilerServices;

namespace Qwen.Eval.Tests;

/// <summary>Gives the servers this test run starts a fresh batch data directory (as Qwen.Server.Tests does).</summary>
/// <remarks>
/// The standalone server resumes unfinished batches from its data directory at start; left at the default (the user's
/// local app data), it could pick up another run's batches and send their requests to the engine under test.
/// </remarks>
internal static class TestDataDirectory
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        var directory = Directory.CreateTempSubdirectory("qwen-eval-tests-").FullName;
        Environment.SetEnvironmentVariable("Qwen__Batch__DataDirectory", directory);
    }
}
