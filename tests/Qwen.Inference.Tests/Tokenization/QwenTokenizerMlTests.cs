using System.Diagnostics;
using System.Text;
using Microsoft.ML.Tokenizers;
using Qwen.Inference.Tokenization;
using Xunit.Abstractions;

namespace Qwen.Inference.Tests.Tokenization;

public sealed class QwenTokenizerMlTests(ITestOutputHelper output)
{
    private static readonly Lazy<Tokenizer> Ml = new(() => SharedTokenizer.Instance.AsTokenizer());
    private static readonly Lazy<Tokenizer> MlSpecials = new(() => SharedTokenizer.Instance.AsTokenizer(parseSpecialTokens: true));

    [Fact]
    public void AsTokenizer_RandomStringsAndVectors_SameIdsAsOwnPath()
    {
        var tok = SharedTokenizer.Instance;
        var random = new Random(99);
        var texts = Enumerable.Range(0, 2000).Select(_ => RandomMixedText.Next(random)).ToList();
        texts.AddRange(QwenTokenizerTests.Vectors.Select(row => (string)row[0]));
        foreach (var text in texts)
        {
            var ours = tok.Encode(text);
            var theirs = Ml.Value.EncodeToIds(text);
            Assert.True(ours.SequenceEqual(theirs), $"{text}: ours [{string.Join(",", ours)}], ML [{string.Join(",", theirs)}]");
            Assert.Equal(tok.Decode(ours), Ml.Value.Decode(theirs));
        }
    }

    [Fact]
    public void AsTokenizer_Specials_PlainTextByDefaultParsedWhenAsked()
    {
        Assert.Equal([1350, 9639, 91, 8691, 723, 427, 91, 82598], Ml.Value.EncodeToIds("print(\"<|endoftext|>\")"));
        Assert.Equal([1350, 445, 151643, 899], MlSpecials.Value.EncodeToIds("print(\"<|endoftext|>\")"));
        Assert.Equal(SharedTokenizer.Instance.Encode("a<|im_start|>b<|extra_204|>", parseSpecialTokens: true), MlSpecials.Value.EncodeToIds("a<|im_start|>b<|extra_204|>"));
    }

    [Fact]
    public void Encode_MixedCorpus_ReportsSingleThreadThroughput()
    {
        // A measurement, not an assertion: MB/s of UTF-8 input on one thread, own path vs Microsoft.ML.Tokenizers.
        var random = new Random(5);
        var sb = new StringBuilder();
        while (sb.Length < 400_000)
        {
            sb.Append(random.Next(4) switch
            {
                0 => "The quick brown fox jumps over the lazy dog; it's 2023 and they'll say 3.14159. ",
                1 => "通义千问是阿里云研发的大语言模型，支持中文和英文。今天天气怎么样？",
                2 => "def add(a, b):\n    return a + b\n\nfor (int i = 0; i < n; ++i) { sum += x[i]; }\n",
                _ => RandomMixedText.Next(random) + " ",
            });
        }
        var corpus = sb.ToString();
        var lines = corpus.Split('\n');
        double mb = Encoding.UTF8.GetByteCount(corpus) / 1e6;
        var tok = SharedTokenizer.Instance;
        var ml = Ml.Value;
        tok.Encode(corpus);
        ml.EncodeToIds(corpus);

        // Reported per CPU-second of this process as well as per wall-second: the test machine is shared and loaded.
        (double Cpu, double Wall) Measure(Func<string, int> encode)
        {
            using var process = Process.GetCurrentProcess();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            int tokens = 0;
            for (int r = 0; r < 3; r++) foreach (var line in lines) tokens += encode(line);
            sw.Stop();
            process.Refresh();
            Assert.True(tokens > 0);
            return (3 * mb / (process.TotalProcessorTime - cpu0).TotalSeconds, 3 * mb / sw.Elapsed.TotalSeconds);
        }
        var own = Measure(l => tok.Encode(l).Count);
        var viaMl = Measure(l => ml.EncodeToIds(l).Count);
        output.WriteLine($"corpus {mb:F2} MB UTF-8, {tok.Encode(corpus).Count:N0} tokens; single-thread encode: " +
            $"QwenTokenizer {own.Cpu:F1} MB/cpu-s ({own.Wall:F1} MB/wall-s), Microsoft.ML.Tokenizers {viaMl.Cpu:F1} MB/cpu-s ({viaMl.Wall:F1} MB/wall-s)");
    }
}
