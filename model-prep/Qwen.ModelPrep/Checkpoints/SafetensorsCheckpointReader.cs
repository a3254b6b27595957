using System.Runtime.InteropServices;
using System.Text.Json;

namespace Qwen.ModelPrep.Checkpoints;

/// <summary>Reads a Hugging Face Qwen checkpoint stored as safetensors: one <c>model.safetensors</c> or shards listed in <c>model.safetensors.index.json</c>.</summary>
/// <remarks>
/// Every shard is memory-mapped, so tensors are converted to float32 row block by row block without ever holding
/// the checkpoint in memory. <see cref="Open"/> validates everything up front (config, headers, the full tensor set
/// and its shapes and dtypes) so a conversion never fails halfway. Reads are thread-safe.
/// </remarks>
public sealed class SafetensorsCheckpointReader : ICheckpointReader
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)> _tensors;

    private SafetensorsCheckpointReader(string directory, CheckpointConfig config, List<SafetensorsFile> files,
        Dictionary<string, (SafetensorsFile, SafetensorsTensor)> tensors)
    {
        Directory = directory;
        Config = config;
        _files = files;
        _tensors = tensors;
    }

    /// <summary>The checkpoint directory.</summary>
    public string Directory { get; }

    public CheckpointConfig Config { get; }

    public IReadOnlyCollection<string> TensorNames => _tensors.Keys;

    /// <summary>Opens and validates a checkpoint directory.</summary>
    /// <param name="directory">Holds config.json, optional generation_config.json and the safetensors weights.</param>
    /// <param name="maxContext">Overrides the default serving context (see <see cref="CheckpointConfigLoader"/>).</param>
    /// <exception cref="ModelPrepException">Anything is missing, malformed or not the QWenLMHeadModel layout; the message names the file and tensor.</exception>
    public static SafetensorsCheckpointReader Open(string directory, int? maxContext = null)
    {
        var config = CheckpointConfigLoader.Load(directory, maxContext);
        var files = new List<SafetensorsFile>();
        try
        {
            var tensors = OpenWeights(directory, files);
            ValidateLayout(directory, config, tensors);
            return new SafetensorsCheckpointReader(directory, config, files, tensors);
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    public CheckpointTensorInfo GetInfo(string name)
    {
        var (_, tensor) = Find(name);
        return new CheckpointTensorInfo(name, tensor.Dtype, (long[])tensor.Shape.Clone());
    }

    /// <summary>The shard file holding a tensor.</summary>
    public string GetFilePath(string name) => Find(name).File.Path;

    public void ReadRows(string name, long rowStart, int rows, Span<float> destination)
    {
        var (file, tensor) = Find(name);
        var columns = tensor.Shape.Length == 0 ? 1 : tensor.Shape[^1];
        var totalRows = tensor.Shape.Length <= 1 ? 1 : tensor.ElementCount / Math.Max(columns, 1);
        if (rowStart < 0 || rows < 0 || rowStart + rows > totalRows)
        {
            throw new ArgumentOutOfRangeException(nameof(rowStart),
                $"rows [{rowStart}, {rowStart + rows}) are outside tensor '{name}' with {totalRows} rows");
        }
        var count = checked((int)(rows * columns));
        if (destination.Length < count)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats; rows [{rowStart}, {rowStart + rows}) of '{name}' need {count}", nameof(destination));
        }
        var size = SafetensorsDtype.ElementSize(tensor.Dtype)!.Value;
        var bytes = file.GetBytes(tensor, rowStart * columns * size, checked(count * size));
        switch (tensor.Dtype)
        {
            case SafetensorsDtype.BF16:
                FloatConversion.Bf16ToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), destination);
                break;
            case SafetensorsDtype.F16:
                FloatConversion.HalfToSingle(MemoryMarshal.Cast<byte, Half>(bytes), destination);
                break;
            case SafetensorsDtype.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                break;
            default:
                throw new ModelPrepException($"tensor '{name}' in {file.Path} has dtype {tensor.Dtype}; only BF16, F16 and F32 can be read");
        }
    }

    /// <summary>Reads a whole tensor as float32 (convenient for small tensors; large ones should be read in row blocks).</summary>
    public float[] ReadAll(string name)
    {
        var info = GetInfo(name);
        var values = new float[checked((int)info.ElementCount)];
        ReadRows(name, 0, checked((int)info.Rows), values);
        return values;
    }

    public void Dispose() => _files.ForEach(f => f.Dispose());

    private (SafetensorsFile File, SafetensorsTensor Tensor) Find(string name)
        => _tensors.TryGetValue(name, out var found)
            ? found
            : throw new ModelPrepException($"tensor '{name}' is missing from the checkpoint in {Directory}");

    private static Dictionary<string, (SafetensorsFile, SafetensorsTensor)> OpenWeights(string directory, List<SafetensorsFile> files)
    {
        var result = new Dictionary<string, (SafetensorsFile, SafetensorsTensor)>(StringComparer.Ordinal);
        var indexPath = Path.Combine(directory, IndexFileName);
        var singlePath = Path.Combine(directory, SingleFileName);
        if (File.Exists(indexPath))
        {
            var weightMap = ReadIndex(indexPath);
            var byFile = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var shardName in weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                if (shardName.Contains('/') || shardName.Contains('\\'))
                {
                    throw new ModelPrepException($"{indexPath}: shard name '{shardName}' must be a file name in the checkpoint directory");
                }
                var shardPath = Path.Combine(directory, shardName);
                if (!File.Exists(shardPath))
                {
                    throw new ModelPrepException($"{indexPath} lists shard {shardName}, which is missing from {directory}");
                }
                var file = SafetensorsFile.Open(shardPath);
                files.Add(file);
                byFile[shardName] = file;
            }
            foreach (var (tensorName, shardName) in weightMap)
            {
                var file = byFile[shardName];
                if (!file.Tensors.TryGetValue(tensorName, out var tensor))
                {
                    throw new ModelPrepException($"{indexPath} maps tensor '{tensorName}' to {shardName}, but that shard does not contain it");
                }
                result[tensorName] = (file, tensor);
            }
        }
        else if (File.Exists(singlePath))
        {
            var file = SafetensorsFile.Open(singlePath);
            files.Add(file);
            foreach (var (name, tensor) in file.Tensors)
            {
                result[name] = (file, tensor);
            }
        }
        else if (File.Exists(Path.Combine(directory, "pytorch_model.bin")) || File.Exists(Path.Combine(directory, "pytorch_model.bin.index.json")))
        {
            throw new ModelPrepException($"{directory} holds PyTorch pickle weights (pytorch_model.bin); only safetensors are read. Re-save the model with safe_serialization=True");
        }
        else
        {
            throw new ModelPrepException($"{directory} has no weights: expected {SingleFileName} or {IndexFileName} with its shards");
        }
        return result;
    }

    private static Dictionary<string, string> ReadIndex(string indexPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new ModelPrepException($"{indexPath} has no \"weight_map\" object");
            }
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                result[entry.Name] = entry.Value.GetString()
                    ?? throw new ModelPrepException($"{indexPath}: weight_map entry '{entry.Name}' is not a file name");
            }
            return result;
        }
        catch (JsonException ex)
        {
            throw new ModelPrepException($"{indexPath} is not valid JSON ({ex.Message})");
        }
        catch (InvalidOperationException ex)
        {
            throw new ModelPrepException($"{indexPath}: weight_map values must be shard file names ({ex.Message})");
        }
    }

    private static void ValidateLayout(string directory, CheckpointConfig config,
        Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)> tensors)
    {
        foreach (var (name, shape) in QwenTensorLayout.Expected(config.Architecture))
        {
            if (!tensors.TryGetValue(name, out var found))
            {
                throw new ModelPrepException($"tensor '{name}' is missing from the checkpoint in {directory}");
            }
            if (!found.Tensor.Shape.SequenceEqual(shape))
            {
                throw new ModelPrepException(
                    $"tensor '{name}' in {found.File.Path} has shape [{string.Join(", ", found.Tensor.Shape)}], expected [{string.Join(", ", shape)}] from config.json");
            }
            if (!SafetensorsDtype.IsFloat(found.Tensor.Dtype))
            {
                throw new ModelPrepException(
                    $"tensor '{name}' in {found.File.Path} has dtype {found.Tensor.Dtype}; only BF16, F16 and F32 are supported");
            }
        }
    }
}
