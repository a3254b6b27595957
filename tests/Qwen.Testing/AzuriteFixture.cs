using System.Diagnostics;
using System.Net.Sockets;

namespace Qwen.Testing;

/// <summary>Makes sure Azurite answers on 127.0.0.1:10000–10002 (starting it with eng/azurite.sh if needed) and names the dev account.</summary>
/// <remarks>
/// Azurite is shared by every test process on the machine, so it is started at most once (a file lock serialises
/// the check-and-start between processes) and never stopped here. Tests isolate themselves with <see cref="UniqueName"/>.
/// </remarks>
public sealed class AzuriteFixture
{
    /// <summary>The well-known Azurite development account (public, documented by Microsoft).</summary>
    public const string ConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;" +
        "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" +
        "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";

    private static readonly Lazy<bool> Started = new(StartIfNeeded, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Starts Azurite if nothing listens on its ports; throws with the command to run when that fails.</summary>
    public AzuriteFixture() => _ = Started.Value;

    /// <summary>A lowercase name valid for containers and queues, unique per call: <c>{prefix}-{12 hex}</c>.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)].ToLowerInvariant();

    private static bool StartIfNeeded()
    {
        if (Answers(10000) && Answers(10001))
        {
            return true;
        }
        Directory.CreateDirectory(RepoPaths.Artifacts);
        // Two test processes may get here at once; eng/azurite.sh wipes its data folder, so only one may run it.
        using var gate = AcquireLock(Path.Combine(RepoPaths.Artifacts, "azurite-start.lock"), TimeSpan.FromSeconds(60));
        if (Answers(10000) && Answers(10001))
        {
            return true;
        }
        var script = Path.Combine(RepoPaths.Root, "eng", "azurite.sh");
        var psi = new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not run {script}.");
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 || !Answers(10000) || !Answers(10001))
        {
            throw new InvalidOperationException(
                $"Azurite is not answering on 127.0.0.1:10000/10001 and {script} failed (exit {process.ExitCode}): {stderr.Trim()} " +
                "Run ./eng/bootstrap.sh (installs node_modules/azurite) and ./eng/azurite.sh.");
        }
        return true;
    }

    private static bool Answers(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static FileStream AcquireLock(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }
}
