using System.Text.Json;
using Qwen.Inference.Packaging;

namespace Qwen.ModelPrep.Checkpoints;

/// <summary>Parses a Qwen config.json (v1.0 GPT-2-style keys or v1.1 HF-style keys) and generation_config.json.</summary>
/// <remarks>
/// Default serving context (<see cref="ModelArchitecture.MaxContext"/>) when the caller gives none:
/// max(4·seq_length, 8192), capped at 32767 (the LogN table's end, spec §3.6). That is 8192 for v1.0 (S = 2048)
/// and 32767 for v1.1 (S = 8192): long enough to exercise dynamic NTK beyond S, while `convert --max-context`
/// lets a deployment pick a smaller KV buffer.
/// Keys missing from a present generation_config.json take HF GenerationConfig defaults (top_k 50, top_p 1.0,
/// temperature 1.0, repetition_penalty 1.0, do_sample false), except chat_format (chatml), max_new_tokens (512) and
/// max_window_size (6144, what Qwen's chat() hard-codes). Without the file, Qwen-7B-Chat v1.1's values apply (spec §5.4).
/// </remarks>
public static class CheckpointConfigLoader
{
    public const string ConfigFileName = "config.json";
    public const string GenerationConfigFileName = "generation_config.json";
    public const string SupportedArchitecture = "QWenLMHeadModel";

    /// <summary>The LogN table covers positions up to 32767 (spec §3.6), so no package may serve more.</summary>
    public const int MaxSupportedContext = 32767;

    /// <summary>Loads config.json (+ generation_config.json when present) from a checkpoint directory.</summary>
    /// <exception cref="ModelPrepException">config.json is missing, malformed or not a supported Qwen model.</exception>
    public static CheckpointConfig Load(string directory, int? maxContext = null)
    {
        if (!Directory.Exists(directory))
        {
            throw new ModelPrepException($"checkpoint directory {directory} does not exist");
        }
        var configPath = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(configPath))
        {
            throw new ModelPrepException($"{configPath} is missing: {directory} is not a Hugging Face checkpoint directory");
        }
        var genPath = Path.Combine(directory, GenerationConfigFileName);
        return Parse(File.ReadAllText(configPath), configPath,
            File.Exists(genPath) ? File.ReadAllText(genPath) : null, genPath, maxContext);
    }

    /// <summary>Parses the JSON texts; the paths only name the files in error messages.</summary>
    public static CheckpointConfig Parse(string configJson, string configPath, string? generationJson, string generationPath, int? maxContext = null)
    {
        var architecture = ParseArchitecture(configJson, configPath, maxContext);
        var generation = generationJson is null ? new GenerationDefaults() : ParseGeneration(generationJson, generationPath);
        return new CheckpointConfig(architecture, generation);
    }

    /// <summary>The default serving context for a training length S: max(4·S, 8192) capped at 32767.</summary>
    public static int DefaultMaxContext(int seqLength) => (int)Math.Min(Math.Max(4L * seqLength, 8192), MaxSupportedContext);

    private static ModelArchitecture ParseArchitecture(string json, string path, int? maxContext)
    {
        using var doc = ParseJson(json, path);
        var root = doc.RootElement;
        var architectures = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(e => e.GetString() ?? "").ToArray()
            : [];
        if (!architectures.Contains(SupportedArchitecture))
        {
            var found = architectures.Length == 0 ? "no \"architectures\" entry" : $"architecture {string.Join(", ", architectures)}";
            throw new ModelPrepException(
                $"{path}: {found} is not supported; only {SupportedArchitecture} (original Qwen-7B / Qwen-7B-Chat, 2023) is");
        }

        // v1.0 configs use GPT-2 names; v1.1 uses HF names. QWenConfig maps the HF names onto the GPT-2 ones, so accept either.
        var style = root.TryGetProperty("n_embd", out _) ? "v1.0" : "v1.1";
        var hidden = RequiredInt(root, path, "n_embd", "hidden_size");
        var heads = RequiredInt(root, path, "n_head", "num_attention_heads");
        var layers = RequiredInt(root, path, "n_layer", "num_hidden_layers");
        var ffn = RequiredInt(root, path, "ffn_hidden_size", "intermediate_size");
        var vocab = OptionalInt(root, path, "padded_vocab_size") ?? RequiredInt(root, path, "vocab_size");
        var lmHeadRows = OptionalInt(root, path, "vocab_size") ?? vocab;
        var seqLength = RequiredInt(root, path, "seq_length");
        var headDim = OptionalInt(root, path, "kv_channels") ?? (heads > 0 ? hidden / heads : 0);
        var eps = OptionalDouble(root, path, "layer_norm_epsilon") ?? 1e-6;
        var rotaryBase = OptionalDouble(root, path, "rotary_emb_base") ?? 10000;
        var rotaryPct = OptionalDouble(root, path, "rotary_pct") ?? 1.0;
        var useNtk = OptionalBool(root, path, "use_dynamic_ntk") ?? true;
        var useLogn = OptionalBool(root, path, "use_logn_attn") ?? true;

        if (lmHeadRows != vocab)
        {
            throw new ModelPrepException($"{path}: padded_vocab_size {vocab} differs from vocab_size {lmHeadRows}; only equal wte/lm_head row counts are supported");
        }
        if (heads * headDim != hidden)
        {
            throw new ModelPrepException($"{path}: kv_channels {headDim} × heads {heads} = {heads * headDim} must equal the hidden size {hidden} (QKV is split in thirds of hidden size)");
        }
        if (ffn % 2 != 0)
        {
            throw new ModelPrepException($"{path}: ffn_hidden_size/intermediate_size {ffn} must be even (each SwiGLU branch is half of it)");
        }
        if (rotaryPct != 1.0)
        {
            throw new ModelPrepException($"{path}: rotary_pct {rotaryPct} is not supported; Qwen rotates whole heads (1.0)");
        }
        if (maxContext is { } requested && (requested < 1 || requested > MaxSupportedContext))
        {
            throw new ModelPrepException($"max context {requested} is out of range; it must be 1…{MaxSupportedContext} (the LogN table's end)");
        }

        return new ModelArchitecture
        {
            HiddenSize = hidden,
            NumLayers = layers,
            NumHeads = heads,
            HeadDim = headDim,
            IntermediateSize = ffn / 2,
            VocabSize = vocab,
            SeqLength = seqLength,
            RotaryBase = rotaryBase,
            RmsNormEps = eps,
            UseDynamicNtk = useNtk,
            UseLognAttn = useLogn,
            ConfigStyle = style,
            MaxContext = maxContext ?? DefaultMaxContext(seqLength),
        };
    }

    private static GenerationDefaults ParseGeneration(string json, string path)
    {
        using var doc = ParseJson(json, path);
        var root = doc.RootElement;
        int? eos = null;
        if (root.TryGetProperty("eos_token_id", out var e))
        {
            eos = e.ValueKind switch
            {
                JsonValueKind.Number => e.GetInt32(),
                JsonValueKind.Array when e.GetArrayLength() > 0 => e[0].GetInt32(),
                _ => null,
            };
        }
        var defaults = new GenerationDefaults();
        return new GenerationDefaults
        {
            ChatFormat = OptionalString(root, path, "chat_format") ?? defaults.ChatFormat,
            DoSample = OptionalBool(root, path, "do_sample") ?? false,
            Temperature = OptionalDouble(root, path, "temperature") ?? 1.0,
            TopP = OptionalDouble(root, path, "top_p") ?? 1.0,
            TopK = OptionalInt(root, path, "top_k") ?? 50,
            RepetitionPenalty = OptionalDouble(root, path, "repetition_penalty") ?? 1.0,
            MaxNewTokens = OptionalInt(root, path, "max_new_tokens") ?? defaults.MaxNewTokens,
            MaxWindowSize = OptionalInt(root, path, "max_window_size") ?? defaults.MaxWindowSize,
            EosTokenId = eos ?? defaults.EosTokenId,
        };
    }

    private static JsonDocument ParseJson(string json, string path)
    {
        try
        {
            var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                throw new ModelPrepException($"{path} is not a JSON object");
            }
            return doc;
        }
        catch (JsonException ex)
        {
            throw new ModelPrepException($"{path} is not valid JSON ({ex.Message})");
        }
    }

    private static int RequiredInt(JsonElement root, string path, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (OptionalInt(root, path, key) is { } value)
            {
                if (value <= 0)
                {
                    throw new ModelPrepException($"{path}: \"{key}\" is {value}; it must be positive");
                }
                return value;
            }
        }
        throw new ModelPrepException($"{path} has no \"{string.Join("\" or \"", keys)}\" key");
    }

    private static JsonElement? Find(JsonElement root, string key)
        => root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static int? OptionalInt(JsonElement root, string path, string key)
        => Find(root, key) is { } v ? (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw Bad(path, key, v, "an integer")) : null;

    private static double? OptionalDouble(JsonElement root, string path, string key)
        => Find(root, key) is { } v ? (v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Bad(path, key, v, "a number")) : null;

    private static bool? OptionalBool(JsonElement root, string path, string key)
        => Find(root, key) is { } v ? (v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Bad(path, key, v, "true or false")) : null;

    private static string? OptionalString(JsonElement root, string path, string key)
        => Find(root, key) is { } v ? (v.ValueKind == JsonValueKind.String ? v.GetString() : throw Bad(path, key, v, "a string")) : null;

    private static ModelPrepException Bad(string path, string key, JsonElement value, string expected)
        => new($"{path}: \"{key}\" is {value.GetRawText()}; expected {expected}");
}
