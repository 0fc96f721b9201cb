using ModelVis.Models;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Engine.Tests;

/// <summary>config.json fuzzed for a few seconds (<see cref="BoundedFuzzer"/>): every mutated file parses to a config
/// within the sane ranges, or fails with a <see cref="ModelException"/>, within time and allocation bounds.</summary>
public class ConfigFuzzTests(ITestOutputHelper output)
{
    static readonly string[] Seeds =
    [
        """{"model_type": "gpt2", "n_embd": 64, "n_head": 4, "n_layer": 2, "vocab_size": 100, "n_positions": 128, "layer_norm_epsilon": 1e-5, "eos_token_id": 99}""",
        """{"model_type": "bert", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 64, "type_vocab_size": 2, "pad_token_id": 0}""",
        """{"model_type": "qwen2", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 4, "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 1000000, "use_sliding_window": true, "sliding_window": 32, "max_window_layers": 2, "eos_token_id": [1, 2], "rope_scaling": {"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 64}}""",
        """{"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 100, "rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 64}}""",
        """{"model_type": "phi3", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 256, "original_max_position_embeddings": 64, "partial_rotary_factor": 0.5, "rope_scaling": {"type": "longrope", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2]}}""",
        """{"model_type": "gemma3", "tie_word_embeddings": true, "text_config": {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16, "num_hidden_layers": 6, "intermediate_size": 128, "vocab_size": 100, "sliding_window": 16, "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]}}""",
        """{"model_type": "gpt_neox", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 100, "rotary_pct": 0.25, "rotary_emb_base": 10000, "use_parallel_residual": false}""",
    ];

    [Fact]
    public void ConfigJson()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("config.json");
        foreach (var seed in Seeds)
        {
            File.WriteAllText(path, seed);
            ModelConfig.FromFolder(dir.Path);
        }
        var outcome = BoundedFuzzer.Run("config.json", 31, 9_000, Seeds.Select(System.Text.Encoding.UTF8.GetBytes).ToArray(), bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var c = ModelConfig.FromFolder(dir.Path);
            // What parses is within the ranges the engine sizes its tables by.
            Assert.InRange(c.Layers, 1, ModelConfig.MaxLayers);
            Assert.InRange(c.Hidden, 1, ModelConfig.MaxHidden);
            Assert.InRange(c.Vocab, 1, ModelConfig.MaxVocab);
            Assert.True(float.IsFinite(c.NormEps) && c.NormEps > 0);
        }, typeof(ModelException));
        output.WriteLine(outcome.ToString());
    }
}
