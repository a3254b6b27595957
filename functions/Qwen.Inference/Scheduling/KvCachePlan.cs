using System.Globalization;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;

namespace Qwen.Inference.Scheduling;

/// <summary>How the KV budget becomes the scheduler's buffer: <see cref="Rows"/> × <see cref="Positions"/>, and the arithmetic behind it.</summary>
/// <param name="Rows">Batch rows (requests that decode together).</param>
/// <param name="Positions">Positions per row: the longest prompt + output one request may have (the context a host advertises).</param>
/// <param name="BytesPerPosition">Bytes one position of one row takes over all layers, key and value.</param>
/// <param name="BudgetBytes">The budget the plan was fitted into.</param>
/// <param name="BudgetIsDefault">True when the budget is the default share of the process's memory, not a configured value.</param>
/// <param name="KvDtype">Element type of the cache (<c>float32</c> or <c>float16</c>, from the package).</param>
/// <remarks>
/// Positions come first: a row holds the target context (the configured one, else the package's capped at
/// <see cref="DefaultContextCap"/>) and the budget decides how many rows of it fit, up to MaxBatchSize. Only when not even
/// one row of the target fits does the row get shorter. A context that the budget silently cut to a fraction is what
/// made a 7B model serve 512 tokens before; fewer rows only means more requests wait in the queue.
/// </remarks>
public sealed record KvCachePlan(int Rows, int Positions, long BytesPerPosition, long BudgetBytes, bool BudgetIsDefault, string KvDtype)
{
    /// <summary>The context a row gets by default when the package allows more (the KV buffer is allocated whole, so this bounds memory).</summary>
    public const int DefaultContextCap = 4096;

    /// <summary>Share of the memory left after the weights that the default budget takes.</summary>
    public const double DefaultBudgetShare = 0.5;

    /// <summary>Bytes of the whole KV buffer.</summary>
    public long Bytes => Rows * (long)Positions * BytesPerPosition;

    /// <summary>Bytes one position of one row takes: 2 (key, value) × layers × heads × head size × element size.</summary>
    public static long BytesPerPositionOf(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var arch = manifest.Architecture;
        var elementBytes = OnnxSessionFactory.KvElementType(manifest.Io) == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16 ? 2L : 4L;
        return 2L * arch.NumLayers * arch.NumHeads * arch.HeadDim * elementBytes;
    }

    /// <summary>Bytes of the package's weights (every file but the GenAI copy), which stay resident next to the KV cache.</summary>
    public static long WeightBytesOf(ModelManifest manifest) =>
        manifest.Files.Where(f => !f.Path.StartsWith("genai/", StringComparison.Ordinal)).Sum(f => f.Size);

    /// <summary>The memory this process may use: the GC's view, which honours container (cgroup) limits and <c>GCHeapHardLimit</c>.</summary>
    public static long ProcessMemoryLimitBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>The default budget: <see cref="DefaultBudgetShare"/> of what <paramref name="memoryLimitBytes"/> leaves after the package's weights.</summary>
    public static long DefaultBudgetBytes(ModelManifest manifest, long memoryLimitBytes) =>
        (long)(Math.Max(0, memoryLimitBytes - WeightBytesOf(manifest)) * DefaultBudgetShare);

    /// <summary>Fits <paramref name="options"/> into the budget (configured, else the default share of <paramref name="memoryLimitBytes"/>, else of this process's limit).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A configured context exceeds the package's, or the budget does not hold 2 positions of one row.</exception>
    public static KvCachePlan Create(ModelManifest manifest, QwenSchedulerOptions options, long? memoryLimitBytes = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(options);
        var scheduling = options.Scheduling;
        scheduling.Validate();
        var arch = manifest.Architecture;
        var target = scheduling.MaxSequenceLength is { } explicitLength
            ? LongContext.ResolveContextLength(arch, explicitLength)
            : options.Runtime.ContextLength is { } configured
                ? LongContext.ResolveContextLength(arch, configured)
                : Math.Min(LongContext.ResolveContextLength(arch, null), DefaultContextCap);
        var perPosition = BytesPerPositionOf(manifest);
        var isDefault = scheduling.KvCacheBudgetBytes is null;
        var budget = scheduling.KvCacheBudgetBytes ?? DefaultBudgetBytes(manifest, memoryLimitBytes ?? ProcessMemoryLimitBytes());
        // DirectML hands out opaque allocation handles, not addresses, so a view at a row's offset cannot be made there:
        // one row keeps every view at offset 0 (same engine, no batching) until that is solved on a Windows machine.
        var maxRows = options.Runtime.ExecutionProvider == ExecutionProvider.DirectML ? 1 : scheduling.MaxBatchSize;
        var rows = (int)Math.Min(maxRows, budget / (target * perPosition));
        var positions = target;
        if (rows < 1)
        {
            rows = 1;
            positions = (int)Math.Min(target, budget / perPosition);
        }
        if (positions < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), budget, string.Create(CultureInfo.InvariantCulture,
                $"A KV budget of {budget:N0} bytes holds {budget / perPosition} positions ({perPosition:N0} bytes per position); a row needs at least 2. Raise KvCacheBudgetBytes."));
        }
        return new KvCachePlan(rows, positions, perPosition, budget, isDefault, manifest.Io.KvDtype);
    }

    /// <summary>One line for the start-up log: rows × positions, element type, bytes and the budget.</summary>
    public string Describe(ExecutionProvider device) => string.Create(CultureInfo.InvariantCulture,
        $"{Rows} rows × {Positions:N0} positions ({KvDtype}, {BytesPerPosition:N0} bytes per position per row, {Bytes / 1048576.0:N1} MiB on {device}) from a KV budget of {BudgetBytes / 1048576.0:N1} MiB{(BudgetIsDefault ? $" (default: {DefaultBudgetShare:P0} of the memory left after the weights)" : "")}");
}
