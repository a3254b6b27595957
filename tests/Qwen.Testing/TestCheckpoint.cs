namespace Qwen.Testing;

/// <summary>The shared seeded test checkpoints (see <see cref="TestModels"/>).</summary>
public enum TestCheckpoint
{
    /// <summary>tiny preset, v1.0 config keys (n_embd, ffn_hidden_size, padded_vocab_size…), 2 safetensors shards + index.</summary>
    TinyV10Sharded,

    /// <summary>tiny preset, v1.1 config keys (hidden_size, intermediate_size…), one model.safetensors.</summary>
    TinyV11,
}
