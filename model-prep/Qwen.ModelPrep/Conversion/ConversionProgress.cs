namespace Qwen.ModelPrep.Conversion;

/// <summary>Progress of a conversion: weights done out of all weights (in elements), and the current step.</summary>
public sealed record ConversionProgress(string Step, long CompletedElements, long TotalElements);
