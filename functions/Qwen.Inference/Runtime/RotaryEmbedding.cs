namespace Qwen.Inference.Runtime;

/// <summary>
/// Rotary cos/sin rows for one request's α: <c>cos(p·θᵢ)</c>, <c>sin(p·θᵢ)</c> with θᵢ = base′^(−2i/d), i &lt; d/2,
/// computed from float64 angles and stored as float32 (the graph's <c>rope_cos</c>/<c>rope_sin</c> inputs).
/// </summary>
/// <remarks>
/// Rows are computed on demand rather than cached: a decode step needs d/2 = 64 pairs, and even an 8K-token prefill
/// costs about a millisecond, far below its graph time. Immutable and thread-safe.
/// </remarks>
public sealed class RotaryEmbedding
{
    private readonly double[] _inverseFrequencies;

    /// <summary>Creates the table for head size <paramref name="headDim"/>, base <paramref name="baseFrequency"/> and NTK <paramref name="alpha"/>.</summary>
    public RotaryEmbedding(int headDim, double baseFrequency, int alpha)
    {
        if (headDim <= 2 || headDim % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "The head size must be an even number above 2.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(alpha, 1);
        HeadDim = headDim;
        Alpha = alpha;
        Base = LongContext.RotaryBase(baseFrequency, alpha, headDim);
        _inverseFrequencies = new double[headDim / 2];
        for (var i = 0; i < _inverseFrequencies.Length; i++)
        {
            _inverseFrequencies[i] = Math.Pow(Base, -2.0 * i / headDim);
        }
    }

    /// <summary>Head size d.</summary>
    public int HeadDim { get; }

    /// <summary>The NTK α these rows use.</summary>
    public int Alpha { get; }

    /// <summary>base′ after NTK scaling.</summary>
    public double Base { get; }

    /// <summary>Writes rows for positions <paramref name="startPosition"/>…<paramref name="startPosition"/>+count−1, each d/2 wide.</summary>
    /// <param name="startPosition">Absolute position of the first row.</param>
    /// <param name="cos">[count, d/2] destination.</param>
    /// <param name="sin">[count, d/2] destination, same length as <paramref name="cos"/>.</param>
    public void Fill(int startPosition, Span<float> cos, Span<float> sin)
    {
        var half = _inverseFrequencies.Length;
        if (cos.Length != sin.Length || cos.Length % half != 0)
        {
            throw new ArgumentException($"cos and sin must have the same length, a multiple of {half}; got {cos.Length} and {sin.Length}.");
        }
        var rows = cos.Length / half;
        for (var r = 0; r < rows; r++)
        {
            double position = startPosition + r;
            var offset = r * half;
            for (var i = 0; i < half; i++)
            {
                var (s, c) = Math.SinCos(position * _inverseFrequencies[i]);
                cos[offset + i] = (float)c;
                sin[offset + i] = (float)s;
            }
        }
    }
}
