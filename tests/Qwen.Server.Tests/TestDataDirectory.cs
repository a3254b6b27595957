using System.Runtime.CompilerServices;

namespace Qwen.Server.Tests;

/// <summary>Gives every server this test run starts a fresh batch data directory unless the test passes its own <c>--data-dir</c>.</summary>
/// <remarks>
/// The standalone server resumes unfinished batches from its data directory at start. Left at the default (under the
/// user's local app data), servers of one run, and of earlier runs on the same machine, would share batch state and
/// pick up each other's work, so request counts seen by one test could include another's batches. One directory is
/// shared by the servers of this run that pass no <c>--data-dir</c>, so a test that creates batches passes its own
/// (a fuzzed batch left running once showed up as traffic on another test's worker).
/// </remarks>
internal static class TestDataDirectory
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        var directory = Directory.CreateTempSubdirectory("qwen-server-tests-").FullName;
        Environment.SetEnvironmentVariable("Qwen__Batch__DataDirectory", directory);
    }
}
