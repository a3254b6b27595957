using System.Text.Json;
using Qwen.Inference.Packaging;

namespace Qwen.ModelPrep.Checkpoints;

/// <summary>Writes a seeded random Qwen checkpoint in the real Hugging Face layout (config.json, generation_config.json, BF16 safetensors).</summary>
/// <remarks>
/// Weights are streamed row block by row block, so memory stays at a few buffers whatever the preset.
/// The scales are chosen so the network behaves like a trained one in the ways tests care about:
/// <list type="bullet">
/// <item>wte ~ N(0, 1) and linear layers ~ N(0, g/√fan_in), with g = 1.25 for c_attn (attention scores get a
/// standard deviation of about 1.5, so attention is far from uniform and RoPE, NTK and LogN visibly change logits),
/// g = 1 for w1/w2 and g = 0.5 for the two output projections (each block moves the residual stream by roughly
/// half its size: every layer matters, nothing explodes with depth).</item>
/// <item>RMSNorm gains 1 + N(0, 0.05²); c_attn bias N(0, 0.1²).</item>
/// <item>lm_head row r = (T/√hidden)·(√(1−β²)·z_r + β·wte[src(r)]) with T = <see cref="LogitScale"/>,
/// β = <see cref="EchoWeight"/> and src a seeded bijection of the regular ids. The residual stream keeps the
/// current token's embedding, so each token leans towards one pseudo-random successor. Measured with the float64
/// reference on the tiny preset (random prompts of 20 and 100 tokens): that successor is the arg-max at 65–85% of
/// positions, the median top-1 margin is 3.3–3.7 logits and the 10th percentile 0.3–0.8, so top-1 agreement is a
/// meaningful check under int4 quantization while attention still decides the rest. (β = 0.5 made the successor
/// win everywhere; β = 0.3 left median margins of 0.7.) Logit standard deviation is ≈ T.</item>
/// </list>
/// </remarks>
public static class CheckpointGenerator
{
    /// <summary>Bumped whenever the bytes written for a given preset, seed and options change (test caches key on it).</summary>
    public const int Version = 2;

    /// <summary>Standard deviation of the random part of the logits, before the echo term.</summary>
    public const float LogitScale = 4f;

    /// <summary>Share of each lm_head row aligned with one token's embedding (see remarks).</summary>
    public const float EchoWeight = 0.4f;

    /// <summary>Regular (BPE) ids of the Qwen tokenizer; ids from here up are specials or padding and get no echo.</summary>
    public const int RegularTokenCount = 151643;

    public const string TokenizerFileName = "qwen.tiktoken";

    /// <summary>The model's architecture numbers as config.json will state them.</summary>
    public static ModelArchitecture Architecture(CheckpointPreset preset, string style) => new()
    {
        HiddenSize = preset.HiddenSize,
        NumLayers = preset.NumLayers,
        NumHeads = preset.NumHeads,
        HeadDim = preset.HeadDim,
        IntermediateSize = preset.FfnHiddenSize / 2,
        VocabSize = preset.VocabSize,
        SeqLength = preset.SeqLengthFor(style),
        RotaryBase = 10000,
        RmsNormEps = 1e-6,
        UseDynamicNtk = true,
        UseLognAttn = true,
        ConfigStyle = style,
        MaxContext = CheckpointConfigLoader.DefaultMaxContext(preset.SeqLengthFor(style)),
    };

    /// <summary>Total number of weights the preset writes (for progress bars).</summary>
    public static long TotalElements(CheckpointPreset preset)
        => QwenTensorLayout.Expected(Architecture(preset, "v1.1")).Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));

    /// <summary>Writes the checkpoint into a temporary sibling directory, then renames it into place.</summary>
    /// <param name="options">What to write.</param>
    /// <param name="progress">Receives the number of weights written so far.</param>
    /// <param name="cancellationToken">Stops between row blocks; the temporary directory is removed.</param>
    /// <exception cref="ModelPrepException">Bad options, or the output exists and is not a checkpoint.</exception>
    public static async Task WriteAsync(CheckpointGeneratorOptions options, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var arch = Validate(options);
        var output = Path.GetFullPath(options.OutputDirectory);
        var parent = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(output)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            await WriteJsonAsync(Path.Combine(temp, CheckpointConfigLoader.ConfigFileName), w => WriteConfig(w, options.Preset, arch, options.Style), cancellationToken);
            await WriteJsonAsync(Path.Combine(temp, CheckpointConfigLoader.GenerationConfigFileName), w => WriteGenerationConfig(w, options.Style), cancellationToken);
            if (options.TokenizerPath is not null)
            {
                File.Copy(options.TokenizerPath, Path.Combine(temp, TokenizerFileName));
            }
            await Task.Run(() => WriteWeights(temp, options, arch, progress, cancellationToken), cancellationToken);
            ReplaceDirectory(temp, output);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Generates one row of a tensor exactly as the checkpoint stores it (before dtype rounding).</summary>
    public static void GenerateRow(CheckpointPreset preset, ulong seed, string tensorName, long row, Span<float> destination)
    {
        var h = preset.HiddenSize;
        var stream = new SeededNormal(seed, tensorName, row);
        if (tensorName == QwenTensorLayout.LmHead)
        {
            var scale = LogitScale / MathF.Sqrt(h);
            var regular = Math.Min(preset.VocabSize, RegularTokenCount);
            if (row < regular)
            {
                stream.Fill(destination, 0, scale * MathF.Sqrt(1 - EchoWeight * EchoWeight));
                Span<float> embedding = h <= 8192 ? stackalloc float[h] : new float[h];
                GenerateRow(preset, seed, QwenTensorLayout.Embedding, EchoSource(row, regular, seed), embedding);
                for (var i = 0; i < h; i++)
                {
                    destination[i] += scale * EchoWeight * embedding[i];
                }
            }
            else
            {
                stream.Fill(destination, 0, scale);
            }
            return;
        }
        var (mean, std) = Distribution(preset, tensorName);
        stream.Fill(destination, mean, std);
    }

    /// <summary>The token whose embedding lm_head row <paramref name="row"/> leans towards: a seeded bijection of [0, regular).</summary>
    public static long EchoSource(long row, long regular, ulong seed)
    {
        var multiplier = 48271L + (long)(seed % 1000);
        while (Gcd(multiplier, regular) != 1)
        {
            multiplier++;
        }
        var offset = (long)(seed % (ulong)regular);
        return (long)((Int128)(row * multiplier + offset) % regular);
    }

    private static (float Mean, float Std) Distribution(CheckpointPreset p, string name)
    {
        float h = p.HiddenSize, ff = p.FfnHiddenSize / 2f;
        if (name == QwenTensorLayout.Embedding)
        {
            return (0, 1);
        }
        if (name.EndsWith(".ln_1.weight", StringComparison.Ordinal) || name.EndsWith(".ln_2.weight", StringComparison.Ordinal) || name == QwenTensorLayout.FinalNorm)
        {
            return (1, 0.05f);
        }
        if (name.EndsWith(".attn.c_attn.weight", StringComparison.Ordinal))
        {
            return (0, 1.25f / MathF.Sqrt(h));
        }
        if (name.EndsWith(".attn.c_attn.bias", StringComparison.Ordinal))
        {
            return (0, 0.1f);
        }
        if (name.EndsWith(".attn.c_proj.weight", StringComparison.Ordinal))
        {
            return (0, 0.5f / MathF.Sqrt(h));
        }
        if (name.EndsWith(".mlp.w1.weight", StringComparison.Ordinal) || name.EndsWith(".mlp.w2.weight", StringComparison.Ordinal))
        {
            return (0, 1 / MathF.Sqrt(h));
        }
        if (name.EndsWith(".mlp.c_proj.weight", StringComparison.Ordinal))
        {
            return (0, 0.5f / MathF.Sqrt(ff));
        }
        throw new InvalidOperationException($"no weight distribution for tensor '{name}'");
    }

    private static ModelArchitecture Validate(CheckpointGeneratorOptions o)
    {
        if (o.Style is not ("v1.0" or "v1.1"))
        {
            throw new ModelPrepException($"style '{o.Style}' is unknown; use v1.0 (GPT-2-style config keys) or v1.1 (HF-style keys)");
        }
        if (!SafetensorsDtype.IsFloat(o.Dtype))
        {
            throw new ModelPrepException($"dtype '{o.Dtype}' is not supported; use BF16, F16 or F32");
        }
        var arch = Architecture(o.Preset, o.Style);
        var count = QwenTensorLayout.Expected(arch).Count;
        if (o.Shards < 1 || o.Shards > count)
        {
            throw new ModelPrepException($"--shards {o.Shards} is out of range; the {o.Preset.Name} preset has {count} tensors, so use 1…{count}");
        }
        if (o.TokenizerPath is not null && !File.Exists(o.TokenizerPath))
        {
            throw new ModelPrepException($"tokenizer {o.TokenizerPath} does not exist; pass --tokenizer <qwen.tiktoken> or run ./eng/bootstrap.sh");
        }
        var output = Path.GetFullPath(o.OutputDirectory);
        if (File.Exists(output))
        {
            throw new ModelPrepException($"output {output} is a file; give a directory path");
        }
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any()
            && !File.Exists(Path.Combine(output, CheckpointConfigLoader.ConfigFileName)))
        {
            throw new ModelPrepException($"output {output} exists and is not a checkpoint; remove it or choose another directory");
        }
        return arch;
    }

    private static void WriteWeights(string directory, CheckpointGeneratorOptions o, ModelArchitecture arch, IProgress<long>? progress, CancellationToken ct)
    {
        var specs = QwenTensorLayout.Expected(arch).Select(t => new SafetensorsTensorSpec(t.Name, o.Dtype, t.Shape)).ToList();
        var shardOf = AssignShards(specs, o.Shards);
        var names = Enumerable.Range(0, o.Shards)
            .Select(k => o.Shards == 1 ? SafetensorsCheckpointReader.SingleFileName : $"model-{k + 1:D5}-of-{o.Shards:D5}.safetensors")
            .ToArray();
        const int BlockElements = 1 << 22;
        var buffer = new float[BlockElements];
        long done = 0;
        for (var shard = 0; shard < o.Shards; shard++)
        {
            var shardSpecs = specs.Where((_, i) => shardOf[i] == shard).ToList();
            using var writer = new SafetensorsWriter(Path.Combine(directory, names[shard]), shardSpecs);
            foreach (var spec in shardSpecs)
            {
                var columns = (int)spec.Shape[^1];
                var rows = spec.ElementCount / columns;
                var blockRows = (int)Math.Max(1, Math.Min(rows, BlockElements / columns));
                for (long start = 0; start < rows; start += blockRows)
                {
                    ct.ThrowIfCancellationRequested();
                    var n = (int)Math.Min(blockRows, rows - start);
                    var s = start;
                    Parallel.For(0, n, r => GenerateRow(o.Preset, o.Seed, spec.Name, s + r, buffer.AsSpan(r * columns, columns)));
                    writer.Write(buffer.AsSpan(0, n * columns));
                    done += (long)n * columns;
                    progress?.Report(done);
                }
            }
            writer.Complete();
        }
        if (o.Shards > 1)
        {
            using var stream = File.Create(Path.Combine(directory, SafetensorsCheckpointReader.IndexFileName));
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", specs.Sum(s => s.ByteLength));
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var i in Enumerable.Range(0, specs.Count).OrderBy(i => specs[i].Name, StringComparer.Ordinal))
            {
                json.WriteString(specs[i].Name, names[shardOf[i]]);
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
    }

    /// <summary>Splits tensors (kept in order) into <paramref name="shards"/> contiguous groups of roughly equal bytes, none empty.</summary>
    public static int[] AssignShards(IReadOnlyList<SafetensorsTensorSpec> specs, int shards)
    {
        var total = specs.Sum(s => s.ByteLength);
        var result = new int[specs.Count];
        long cumulative = 0;
        var shard = 0;
        for (var i = 0; i < specs.Count; i++)
        {
            var remainingTensors = specs.Count - i;
            var remainingShards = shards - shard;
            // Move on when this shard has its share, or when every later shard needs one of the remaining tensors.
            if (i > 0 && result[i - 1] == shard && shard < shards - 1
                && (cumulative >= (shard + 1) * (total / shards) || remainingTensors < remainingShards))
            {
                shard++;
            }
            result[i] = shard;
            cumulative += specs[i].ByteLength;
        }
        return result;
    }

    private static void WriteConfig(Utf8JsonWriter w, CheckpointPreset p, ModelArchitecture a, string style)
    {
        w.WriteStartObject();
        w.WriteStartArray("architectures");
        w.WriteStringValue(CheckpointConfigLoader.SupportedArchitecture);
        w.WriteEndArray();
        w.WriteStartObject("auto_map");
        w.WriteString("AutoConfig", "configuration_qwen.QWenConfig");
        w.WriteString("AutoModelForCausalLM", "modeling_qwen.QWenLMHeadModel");
        w.WriteEndObject();
        w.WriteString("model_type", "qwen");
        w.WriteString("_comment", $"seeded random weights written by model-prep make-checkpoint --preset {p.Name}; not a trained model");
        if (style == "v1.0")
        {
            w.WriteString("activation", "swiglu");
            w.WriteBoolean("apply_residual_connection_post_layernorm", false);
            w.WriteNumber("attn_pdrop", 0.0);
            w.WriteBoolean("bf16", false);
            w.WriteBoolean("bias_dropout_fusion", true);
            w.WriteNumber("bos_token_id", 151643);
            w.WriteNumber("embd_pdrop", 0.0);
            w.WriteNumber("eos_token_id", 151643);
            w.WriteNumber("ffn_hidden_size", p.FfnHiddenSize);
            w.WriteBoolean("fp16", false);
            w.WriteBoolean("fp32", false);
            w.WriteNumber("initializer_range", 0.02);
            w.WriteNumber("kv_channels", a.HeadDim);
            w.WriteNumber("layer_norm_epsilon", a.RmsNormEps);
            w.WriteNumber("n_embd", a.HiddenSize);
            w.WriteNumber("n_head", a.NumHeads);
            w.WriteNumber("n_layer", a.NumLayers);
            w.WriteNumber("n_positions", 6144);
            w.WriteBoolean("no_bias", true);
            w.WriteNull("onnx_safe");
            w.WriteNumber("padded_vocab_size", a.VocabSize);
            w.WriteString("params_dtype", "torch.bfloat16");
            w.WriteString("pos_emb", "rotary");
            w.WriteNumber("resid_pdrop", 0.1);
            w.WriteNumber("rotary_emb_base", (int)a.RotaryBase);
            w.WriteNumber("rotary_pct", 1.0);
            w.WriteBoolean("scale_attn_weights", true);
            w.WriteNumber("seq_length", a.SeqLength);
            w.WriteBoolean("tie_word_embeddings", false);
            w.WriteString("tokenizer_type", "QWenTokenizer");
            w.WriteString("transformers_version", "4.31.0");
            w.WriteBoolean("use_cache", true);
            w.WriteBoolean("use_dynamic_ntk", a.UseDynamicNtk);
            w.WriteString("use_flash_attn", "auto");
            w.WriteBoolean("use_logn_attn", a.UseLognAttn);
            w.WriteNumber("vocab_size", a.VocabSize);
        }
        else
        {
            w.WriteNumber("attn_dropout_prob", 0.0);
            w.WriteBoolean("bf16", false);
            w.WriteNumber("emb_dropout_prob", 0.0);
            w.WriteBoolean("fp16", false);
            w.WriteBoolean("fp32", false);
            w.WriteNumber("hidden_size", a.HiddenSize);
            w.WriteNumber("initializer_range", 0.02);
            w.WriteNumber("intermediate_size", p.FfnHiddenSize);
            w.WriteNumber("kv_channels", a.HeadDim);
            w.WriteNumber("layer_norm_epsilon", a.RmsNormEps);
            w.WriteNumber("max_position_embeddings", 32768);
            w.WriteBoolean("no_bias", true);
            w.WriteNumber("num_attention_heads", a.NumHeads);
            w.WriteNumber("num_hidden_layers", a.NumLayers);
            w.WriteNull("onnx_safe");
            w.WriteNumber("rotary_emb_base", (int)a.RotaryBase);
            w.WriteNumber("rotary_pct", 1.0);
            w.WriteBoolean("scale_attn_weights", true);
            w.WriteNumber("seq_length", a.SeqLength);
            w.WriteBoolean("tie_word_embeddings", false);
            w.WriteString("tokenizer_class", "QWenTokenizer");
            w.WriteString("transformers_version", "4.32.0");
            w.WriteBoolean("use_cache", true);
            w.WriteBoolean("use_dynamic_ntk", a.UseDynamicNtk);
            w.WriteString("use_flash_attn", "auto");
            w.WriteBoolean("use_logn_attn", a.UseLognAttn);
            w.WriteNumber("vocab_size", a.VocabSize);
        }
        w.WriteEndObject();
    }

    // v1.0 style gets Qwen-7B-Chat v1.0's file (no repetition_penalty, no max_window_size); v1.1 the later Chat file (spec §5.4).
    private static void WriteGenerationConfig(Utf8JsonWriter w, string style)
    {
        w.WriteStartObject();
        w.WriteString("chat_format", "chatml");
        w.WriteNumber("eos_token_id", 151643);
        w.WriteNumber("pad_token_id", 151643);
        if (style == "v1.0")
        {
            w.WriteStartArray("stop_words_ids");
            w.WriteStartArray();
            w.WriteNumberValue(151643);
            w.WriteEndArray();
            w.WriteEndArray();
        }
        else
        {
            w.WriteNumber("max_window_size", 6144);
        }
        w.WriteNumber("max_new_tokens", 512);
        w.WriteBoolean("do_sample", true);
        w.WriteNumber("top_k", 0);
        w.WriteNumber("top_p", 0.8);
        if (style != "v1.0")
        {
            w.WriteNumber("repetition_penalty", 1.1);
        }
        w.WriteString("transformers_version", "4.31.0");
        w.WriteEndObject();
    }

    private static async Task WriteJsonAsync(string path, Action<Utf8JsonWriter> write, CancellationToken ct)
    {
        await using var stream = File.Create(path);
        await using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            write(json);
        }
        await stream.WriteAsync("\n"u8.ToArray(), ct);
    }

    private static void ReplaceDirectory(string temp, string output)
    {
        if (!Directory.Exists(output))
        {
            Directory.Move(temp, output);
            return;
        }
        var old = Path.Combine(Path.GetDirectoryName(output)!, $".{Path.GetFileName(output)}.old-{Guid.NewGuid():N}");
        Directory.Move(output, old);
        Directory.Move(temp, output);
        TryDelete(old);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: a leftover hidden temp directory is harmless and the next run uses a new name.
        }
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);
}
