using System.Text;
using System.Text.Json;

namespace Qwen.ModelPrep.Tokenizer;

/// <summary>
/// Turns the byte-level BPE vocabulary of a Hugging Face <c>tokenizer.json</c> into <c>qwen.tiktoken</c> lines
/// (<c>base64(bytes) + " " + id + "\n"</c>, ids 0…N-1 ascending), reversing GPT-2's <c>bytes_to_unicode</c>.
/// </summary>
public static class ByteLevelVocabularyImporter
{
    private static readonly Dictionary<char, byte> UnicodeToByte = BuildUnicodeToByte();

    /// <summary>Reads <paramref name="tokenizerJsonPath"/> and writes <paramref name="outputPath"/> atomically (temp file + rename).</summary>
    /// <returns>The number of tokens written.</returns>
    /// <exception cref="ModelPrepException">The input is missing or is not a gap-free byte-level BPE vocabulary.</exception>
    public static async Task<int> ImportAsync(string tokenizerJsonPath, string outputPath, CancellationToken cancellationToken)
    {
        if (!File.Exists(tokenizerJsonPath))
        {
            throw new ModelPrepException($"{tokenizerJsonPath} does not exist; pass a Hugging Face tokenizer.json with --from-hf.");
        }
        byte[][] tokens;
        await using (var input = File.OpenRead(tokenizerJsonPath))
        {
            JsonDocument document;
            try
            {
                document = await JsonDocument.ParseAsync(input, default, cancellationToken);
            }
            catch (JsonException ex)
            {
                throw new ModelPrepException($"{tokenizerJsonPath} is not valid JSON ({ex.Message}).", ex);
            }
            using (document)
            {
                tokens = ReadVocabulary(document.RootElement, tokenizerJsonPath);
            }
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(outputPath))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(outputPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            await using (var writer = new StreamWriter(output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { NewLine = "\n" })
            {
                for (int id = 0; id < tokens.Length; id++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await writer.WriteAsync(Convert.ToBase64String(tokens[id]));
                    await writer.WriteAsync(' ');
                    await writer.WriteAsync(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    await writer.WriteAsync('\n');
                }
            }
            File.Move(temp, outputPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return tokens.Length;
    }

    private static byte[][] ReadVocabulary(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object
            || !model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
        {
            throw new ModelPrepException($"{path} has no model.vocab object; it is not a Hugging Face BPE tokenizer.json.");
        }
        if (model.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() != "BPE")
        {
            throw new ModelPrepException($"{path} has model.type '{type.GetString()}'; only byte-level BPE vocabularies can become qwen.tiktoken.");
        }
        var byId = new Dictionary<int, byte[]>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
            {
                throw new ModelPrepException($"{path}: vocab entry '{entry.Name}' has id {entry.Value}, not a non-negative integer.");
            }
            var bytes = new byte[entry.Name.Length];
            for (int i = 0; i < entry.Name.Length; i++)
            {
                if (!UnicodeToByte.TryGetValue(entry.Name[i], out bytes[i]))
                {
                    throw new ModelPrepException(
                        $"{path}: vocab entry '{entry.Name}' (id {id}) has U+{(int)entry.Name[i]:X4}, which is not in GPT-2's byte-to-unicode table; not a byte-level BPE vocabulary.");
                }
            }
            if (!byId.TryAdd(id, bytes))
            {
                throw new ModelPrepException($"{path}: id {id} appears twice in model.vocab.");
            }
        }
        var tokens = new byte[byId.Count][];
        for (int id = 0; id < tokens.Length; id++)
        {
            if (!byId.TryGetValue(id, out var bytes))
            {
                throw new ModelPrepException($"{path}: model.vocab has {byId.Count:N0} entries but no id {id}; ids must be 0…{byId.Count - 1} without gaps.");
            }
            tokens[id] = bytes;
        }
        return tokens;
    }

    // GPT-2 bytes_to_unicode: printable bytes map to themselves, the other 68 to U+0100 upward in byte order.
    private static Dictionary<char, byte> BuildUnicodeToByte()
    {
        var map = new Dictionary<char, byte>(256);
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[printable ? (char)b : (char)next++] = (byte)b;
        }
        return map;
    }
}
