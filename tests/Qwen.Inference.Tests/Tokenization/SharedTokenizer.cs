using Qwen.Inference.Tokenization;
using Qwen.Testing;

namespace Qwen.Inference.Tests.Tokenization;

/// <summary>The real Qwen-7B tokenizer, loaded once per test process.</summary>
internal static class SharedTokenizer
{
    private static readonly Lazy<QwenTokenizer> Lazy = new(() => QwenTokenizer.Load(RepoPaths.Tiktoken));

    public static QwenTokenizer Instance => Lazy.Value;
}
