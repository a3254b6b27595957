namespace Qwen.Inference.Chat;

/// <summary>A tool (function) the model may call, as in an OpenAI request's <c>tools</c>/<c>functions</c>.</summary>
/// <param name="Name">The function name.</param>
/// <param name="Description">What it is for (rendered after "useful for?").</param>
/// <param name="ParametersJson">The JSON schema of its parameters as JSON text; rendered like Python
/// <c>json.dumps(ensure_ascii=False)</c>. Null renders as <c>{}</c>.</param>
public sealed record QwenToolDefinition(string Name, string? Description, string? ParametersJson)
{
    /// <summary>Qwen plugin field <c>name_for_model</c>; defaults to <see cref="Name"/>.</summary>
    public string? NameForModel { get; init; }

    /// <summary>Qwen plugin field <c>name_for_human</c>; defaults to <see cref="Name"/>.</summary>
    public string? NameForHuman { get; init; }

    /// <summary>Qwen plugin field <c>description_for_model</c>; defaults to <see cref="Description"/>.</summary>
    public string? DescriptionForModel { get; init; }

    internal string ModelName => NameForModel ?? Name;
    internal string HumanName => NameForHuman ?? Name;
    internal string ModelDescription => DescriptionForModel ?? Description ?? string.Empty;
}
