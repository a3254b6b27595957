using Qwen.Eval.Perplexity;
using Qwen.ModelPrep.Conversion;
using Qwen.Testing;
using Qwen.Testing.Reference;
using Xunit.Abstractions;

namespace Qwen.Eval.Tests.Perplexity;

/// <summary>
/// The long-context table on the trained model: <c>qwen-eval perplexity</c> against three standalone servers (plain
/// RoPE, +NTK, +NTK+LogN, set by the server's switches), checked window by window against the float64 reference.
/// </summary>
[Collection(EvalConsole.Collection)]
public sealed class PerplexityCommandTests(ITestOutputHelper output)
{
    private static readonly int[] Lengths = [128, 256, 512, 1024];

    private static readonly (string Label, bool Ntk, bool Logn, string[] Args)[] Settings =
    [
        ("plain RoPE", false, false, ["--dynamic-ntk", "off", "--logn", "off"]),
        ("+NTK", true, false, ["--logn", "off"]),
        ("+NTK+LogN", true, true, []),
    ];

    [Fact]
    public async Task Perplexity_ThreeLongContextSettings_MatchReferenceWithinOnePercent()
    {
        var package = await TrainedModel.GetPackageAsync(ModelDtype.Fp32);
        var servers = new List<EvalServer>();
        var outputDirectory = Path.Combine(Path.GetTempPath(), "qwen-eval-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var setting in Settings)
            {
                servers.Add(await EvalServer.StartAsync(package, setting.Args));
            }
            string[] args =
            [
                "perplexity", "--data", TrainedModel.HeldOutPath, "--lengths", string.Join(',', Lengths), "--windows", "1", "--out", outputDirectory,
                .. Settings.Zip(servers).SelectMany(p => new[] { "--endpoint", $"{p.First.Label}={p.Second.BaseUri}" }),
            ];
            Assert.Equal(0, await EvalApp.Create(propagateExceptions: true).RunAsync(args));

            var report = PerplexityReport.FromJson(await File.ReadAllTextAsync(Path.Combine(outputDirectory, "perplexity.json")));
            Assert.True(new FileInfo(Path.Combine(outputDirectory, "perplexity.png")).Length > 1000);
            var markdown = await File.ReadAllTextAsync(Path.Combine(outputDirectory, "perplexity.md"));
            Assert.Contains("| length | plain RoPE | +NTK | +NTK+LogN |", markdown, StringComparison.Ordinal);
            output.WriteLine(markdown);

            // The same window through the float64 reference with the same switches.
            var window = (await TokenData.ReadAsync(TrainedModel.HeldOutPath)).Take(Lengths[^1]).ToArray();
            var checkpoint = await TrainedModel.GetCheckpointAsync();
            double[] plainFull;
            using (var plain = ReferenceModel.Load(checkpoint, dynamicNtk: false, logn: false))
            {
                // With α = 1 and no LogN every length is a prefix of one forward pass over the longest window.
                plainFull = plain.StartSequence().LogLikelihoods(window);
            }
            foreach (var (setting, measured) in Settings.Zip(report.Settings))
            {
                Assert.Equal(setting.Label, measured.Label);
                using var reference = setting.Ntk ? ReferenceModel.Load(checkpoint, setting.Ntk, setting.Logn) : null;
                foreach (var length in Lengths)
                {
                    // Up to seq_length α is 1 and LogN is 1 in every setting.
                    var logLikelihoods = reference is null || length <= TrainedModel.SeqLength
                        ? plainFull[..(length - 1)]
                        : reference.StartSequence().LogLikelihoods(window[..length]);
                    var expected = Math.Exp(-logLikelihoods.Average());
                    var actual = measured.Points.Single(p => p.Length == length).Perplexity;
                    output.WriteLine($"{setting.Label} @ {length}: server {actual:F4}, reference {expected:F4}");
                    Assert.True(Math.Abs(actual / expected - 1) < 0.01, $"{setting.Label} at {length}: {actual} vs reference {expected}");
                }
            }
            // The switches take effect: beyond seq_length the settings differ (by far more than server and reference do).
            var at1024 = report.Settings.Select(s => s.Points.Single(p => p.Length == 1024).Perplexity).ToArray();
            Assert.True(Math.Abs(at1024[0] / at1024[1] - 1) > 1e-3 && Math.Abs(at1024[1] / at1024[2] - 1) > 1e-3, string.Join(", ", at1024));
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
            if (Directory.Exists(outputDirectory))
            {
                Directory.Delete(outputDirectory, recursive: true);
            }
        }
    }
}
