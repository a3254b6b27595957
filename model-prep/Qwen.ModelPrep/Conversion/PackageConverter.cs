using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Qwen.Inference.Packaging;
using Qwen.ModelPrep.Checkpoints;
using Qwen.ModelPrep.Onnx;
using Qwen.ModelPrep.Onnx.Proto;

namespace Qwen.ModelPrep.Conversion;

/// <summary>Converts a Hugging Face Qwen checkpoint into a model package (docs/package-format.md), in process.</summary>
/// <remarks>
/// Everything is written into a temporary sibling directory and renamed into place at the end, with
/// <c>qwen-model.json</c> written last, so a failed or cancelled run leaves no partial output. Weights stream
/// tensor by tensor; memory use does not grow with the model. Instances are stateless and thread-safe.
/// </remarks>
public sealed class PackageConverter
{
    /// <summary>Name of the model file in a package.</summary>
    public const string ModelFile = "model.onnx";

    /// <summary>Name of the external weights file in a package.</summary>
    public const string DataFile = "model.onnx.data";

    /// <summary>Name of the tokenizer file in checkpoints and packages.</summary>
    public const string TokenizerFile = "qwen.tiktoken";

    /// <summary>Subdirectory holding the ONNX Runtime GenAI variant.</summary>
    public const string GenAiDirectory = "genai";

    private static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly Func<string, ICheckpointReader> _openReader;

    /// <summary>Creates a converter that opens checkpoints with <paramref name="openReader"/> (a checkpoint directory → reader).</summary>
    public PackageConverter(Func<string, ICheckpointReader> openReader) => _openReader = openReader;

    /// <summary>A converter for checkpoints in the Hugging Face safetensors layout (single file or sharded).</summary>
    public static PackageConverter ForSafetensors() => new(dir => SafetensorsCheckpointReader.Open(dir));

    /// <summary>Serializer settings of <c>qwen-model.json</c> (System.Text.Json web defaults: camelCase).</summary>
    public static JsonSerializerOptions ManifestSerializerOptions => ManifestJson;

    /// <summary>Converts <see cref="ConvertOptions.Input"/> into the package <see cref="ConvertOptions.Output"/> and returns its manifest.</summary>
    /// <exception cref="ModelPrepException">Bad options, an unusable output directory, or a checkpoint that does not match its config.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is left behind.</exception>
    public Task<ModelManifest> ConvertAsync(ConvertOptions options, IProgress<ConversionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Validate(options);
        return Task.Run(() => ConvertCore(options, progress, cancellationToken), cancellationToken);
    }

    /// <summary>The graph I/O contract a conversion with <paramref name="options"/> writes (the KV element type is <see cref="ConvertOptions.EffectiveKvDtype"/>).</summary>
    public static GraphIo GraphIoFor(ConvertOptions options) => new() { KvDtype = options.EffectiveKvDtype == KvCacheDtype.Fp16 ? "float16" : "float32" };

    private static void Validate(ConvertOptions o)
    {
        if (o.Dtype == ModelDtype.Int4)
        {
            if (o.BlockSize is not (32 or 64 or 128))
            {
                throw new ModelPrepException($"--block-size {o.BlockSize} is not supported; use 32, 64 or 128.");
            }
            if (o.AccuracyLevel is < 0 or > 4)
            {
                throw new ModelPrepException($"--accuracy-level {o.AccuracyLevel} is out of range; use 0 to 4.");
            }
            if (o.LmHeadBits is not (4 or 8 or 16))
            {
                throw new ModelPrepException($"--lm-head-bits {o.LmHeadBits} is not supported; use 4, 8 or 16.");
            }
        }
        if (o.Target == ModelTarget.Cuda && o.Dtype == ModelDtype.Fp32)
        {
            throw new ModelPrepException("--target cuda needs --dtype fp16 or int4: ONNX Runtime's CUDA GroupQueryAttention takes fp16 (or bf16) only, so an fp32 graph would not run attention on the GPU.");
        }
        if (o.Fp16Activations && o.KvDtype == KvCacheDtype.Fp32)
        {
            throw new ModelPrepException("--kv-dtype fp32 needs float32 activations (--target cpu with --dtype fp32 or int4); this package computes in float16.");
        }
        if (o.MaxContext is < 1 or > 32767)
        {
            throw new ModelPrepException($"--max-context {o.MaxContext} is out of range; use 1 to 32767 (the LogN table ends at 32767).");
        }
    }

    private ModelManifest ConvertCore(ConvertOptions options, IProgress<ConversionProgress>? progress, CancellationToken ct)
    {
        var output = Path.GetFullPath(options.Output);
        CheckOutput(output, options.Force);
        var tokenizerSource = Path.Combine(options.Input, TokenizerFile);
        using var reader = _openReader(options.Input);
        if (!File.Exists(tokenizerSource))
        {
            throw new ModelPrepException($"{tokenizerSource} is missing; a Qwen checkpoint ships its tokenizer as {TokenizerFile} next to config.json.");
        }

        var config = reader.Config;
        var arch = config.Architecture with { MaxContext = options.MaxContext ?? config.Architecture.MaxContext };
        var io = GraphIoFor(options);
        var temp = CreateTempSibling(output);
        try
        {
            QwenWeights weights;
            using (var data = new ExternalDataWriter(Path.Combine(temp, DataFile), DataFile))
            {
                var total = QwenWeightWriter.TotalElements(reader);
                long done = 0;
                progress?.Report(new ConversionProgress("weights", 0, total));
                var writer = new QwenWeightWriter(reader, data, options, (name, n) =>
                {
                    done += n;
                    progress?.Report(new ConversionProgress(name, done, total));
                }, ct);
                weights = writer.WriteAll();
                data.Complete();
            }

            var graphs = new QwenGraphBuilder(arch, weights, options, io, arch.MaxContext);
            WriteModel(graphs.BuildNative(), Path.Combine(temp, ModelFile));
            File.Copy(tokenizerSource, Path.Combine(temp, TokenizerFile));
            if (options.GenAi)
            {
                ct.ThrowIfCancellationRequested();
                progress?.Report(new ConversionProgress("genai", 1, 1));
                var genai = Directory.CreateDirectory(Path.Combine(temp, GenAiDirectory)).FullName;
                WriteModel(graphs.BuildGenAi(), Path.Combine(genai, ModelFile));
                // Same initializer names and offsets as the native graph, so the weights file is shared byte for byte.
                File.Copy(Path.Combine(temp, DataFile), Path.Combine(genai, DataFile));
                File.WriteAllText(Path.Combine(genai, "genai_config.json"), GenAiConfig(arch, config.Generation).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }

            ct.ThrowIfCancellationRequested();
            progress?.Report(new ConversionProgress("manifest", 1, 1));
            var manifest = new ModelManifest
            {
                Name = options.Name ?? Path.GetFileName(output),
                Architecture = arch,
                Dtype = options.Dtype.ToString().ToLowerInvariant(),
                Target = options.Target.ToString().ToLowerInvariant(),
                Quantization = options.Dtype == ModelDtype.Int4
                    ? new QuantizationInfo
                    {
                        Bits = 4,
                        BlockSize = options.BlockSize,
                        Symmetric = !options.Asymmetric,
                        AccuracyLevel = options.EffectiveAccuracyLevel,
                        LmHeadBits = options.LmHeadBits,
                    }
                    : null,
                Tokenizer = new TokenizerInfo(),
                Generation = config.Generation,
                Io = io,
                Files = HashFiles(temp, ct),
                Source = Path.GetFileName(Path.GetFullPath(options.Input).TrimEnd(Path.DirectorySeparatorChar)),
            };
            File.WriteAllText(Path.Combine(temp, ModelManifest.FileName), JsonSerializer.Serialize(manifest, ManifestJson));
            MoveIntoPlace(temp, output);
            return manifest;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void CheckOutput(string output, bool force)
    {
        if (File.Exists(output))
        {
            throw new ModelPrepException($"output {output} is a file; give a directory path for the package.");
        }
        if (Directory.Exists(output) && !force
            && !File.Exists(Path.Combine(output, ModelManifest.FileName))
            && Directory.EnumerateFileSystemEntries(output).Any())
        {
            throw new ModelPrepException($"output {output} exists and is not a model package; choose another directory or pass --force to replace it.");
        }
    }

    private static string CreateTempSibling(string output)
    {
        var parent = Path.GetDirectoryName(output) ?? throw new ModelPrepException($"output {output} has no parent directory.");
        var temp = Path.Combine(parent, $".{Path.GetFileName(output)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(parent);
            Directory.CreateDirectory(temp);
            // Creating a directory can succeed where creating files does not (e.g. some mounts); find out now, not after the weights.
            File.WriteAllBytes(Path.Combine(temp, ".probe"), []);
            File.Delete(Path.Combine(temp, ".probe"));
            return temp;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            TryDelete(temp);
            throw new ModelPrepException($"cannot write the package next to {output}: {ex.Message} Choose a writable output directory.", ex);
        }
    }

    private static void MoveIntoPlace(string temp, string output)
    {
        string? old = null;
        if (Directory.Exists(output))
        {
            old = output + $".old-{Guid.NewGuid():N}";
            Directory.Move(output, old);
        }
        Directory.Move(temp, output);
        if (old is not null)
        {
            TryDelete(old);
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the failure that got us here is the one worth reporting.
        }
    }

    private static void WriteModel(ModelProto model, string path)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        model.WriteTo(stream);
    }

    private static List<PackageFile> HashFiles(string root, CancellationToken ct)
    {
        var files = new List<PackageFile>();
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            var hash = Convert.ToHexStringLower(SHA256.HashData(stream));
            files.Add(new PackageFile(Path.GetRelativePath(root, path).Replace('\\', '/'), stream.Length, hash));
        }
        return files;
    }

    private static JsonObject GenAiConfig(ModelArchitecture arch, GenerationDefaults generation)
    {
        var decoder = new JsonObject
        {
            ["session_options"] = new JsonObject { ["log_id"] = "onnxruntime-genai", ["provider_options"] = new JsonArray() },
            ["filename"] = ModelFile,
            ["head_size"] = arch.HeadDim,
            ["hidden_size"] = arch.HiddenSize,
            ["inputs"] = new JsonObject
            {
                ["input_ids"] = "input_ids",
                ["attention_mask"] = "attention_mask",
                ["past_key_names"] = "past_key_values.%d.key",
                ["past_value_names"] = "past_key_values.%d.value",
            },
            ["outputs"] = new JsonObject
            {
                ["logits"] = "logits",
                ["present_key_names"] = "present.%d.key",
                ["present_value_names"] = "present.%d.value",
            },
            ["num_attention_heads"] = arch.NumHeads,
            ["num_hidden_layers"] = arch.NumLayers,
            ["num_key_value_heads"] = arch.NumHeads,
        };
        return new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["bos_token_id"] = generation.EosTokenId,
                ["context_length"] = arch.MaxContext,
                ["decoder"] = decoder,
                ["eos_token_id"] = generation.EosTokenId,
                ["pad_token_id"] = generation.EosTokenId,
                // GenAI picks its decoder-only pipeline by type; qwen2's is the plain GQA decoder this graph matches.
                ["type"] = "qwen2",
                ["vocab_size"] = arch.VocabSize,
            },
            ["search"] = new JsonObject
            {
                ["diversity_penalty"] = 0.0,
                ["do_sample"] = false,
                ["early_stopping"] = true,
                ["length_penalty"] = 1.0,
                ["max_length"] = arch.MaxContext,
                ["min_length"] = 0,
                ["no_repeat_ngram_size"] = 0,
                ["num_beams"] = 1,
                ["num_return_sequences"] = 1,
                ["past_present_share_buffer"] = true,
                ["repetition_penalty"] = 1.0,
                ["temperature"] = 1.0,
                ["top_k"] = 1,
                ["top_p"] = 1.0,
            },
        };
    }
}
