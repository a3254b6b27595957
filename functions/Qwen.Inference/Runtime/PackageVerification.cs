namespace Qwen.Inference.Runtime;

/// <summary>How thoroughly a model package's files are checked against its manifest before use.</summary>
public enum PackageVerification
{
    /// <summary>Sizes always; sha256 the first time this process opens the package (and again if a file's size or time changes).</summary>
    FirstLoad,
    /// <summary>Sizes and sha256 on every open.</summary>
    Always,
    /// <summary>Sizes only (for hosts whose model cache already verified the hashes).</summary>
    SizesOnly,
}
