using System.Text.Json;
using ModelVis.Models;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Engine.Tests;

/// <summary>
/// config.json values a hostile or broken file gives: each is refused with a <see cref="ModelException"/> naming the
/// file and the field, before anything the size of a layer table or a weight is allocated.
/// </summary>
public class ConfigValidationTests
{
    const string Llama = """
        {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
         "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 128,
         "rms_norm_eps": 1e-6, "rope_theta": 10000, "eos_token_id": 2, "bos_token_id": 1
        """;

    static ModelConfig Parse(string extra)
    {
        using var doc = JsonDocument.Parse(Llama + extra + "}");
        return ModelConfig.Parse(doc.RootElement, "/models/x/config.json");
    }

    [Fact]
    public void TheBaseConfigIsValid()
    {
        var c = Parse("");
        Assert.Equal(2, c.Layers);
        Assert.Equal(16, c.HeadDim);
        Assert.Equal([2], c.EosTokenIds);
    }

    [Theory]
    [InlineData("""  , "num_hidden_layers": 1000000000 """, "num_hidden_layers")]
    [InlineData("""  , "hidden_size": 2097152 """, "hidden_size")]
    [InlineData("""  , "rms_norm_eps": 1e999 """, "rms_norm_eps")]
    [InlineData("""  , "rms_norm_eps": 0 """, "rms_norm_eps")]
    [InlineData("""  , "rms_norm_eps": 5 """, "rms_norm_eps")]
    [InlineData("""  , "rope_theta": 0 """, "rope_theta")]
    [InlineData("""  , "rope_theta": -1e999 """, "rope_theta")]
    [InlineData("""  , "rope_scaling": {"rope_type": "linear", "factor": 0} """, "rope_scaling.factor")]
    [InlineData("""  , "rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 0, "high_freq_factor": 4, "original_max_position_embeddings": 64} """, "low_freq_factor")]
    [InlineData("""  , "vocab_size": 2147483647 """, "vocab_size")]
    [InlineData("""  , "eos_token_id": 1099511627776 """, "eos_token_id")]
    [InlineData("""  , "eos_token_id": [2, 1099511627776] """, "eos_token_id")]
    [InlineData("""  , "eos_token_id": 100 """, "eos_token_id")]
    [InlineData("""  , "bos_token_id": "one" """, "bos_token_id")]
    [InlineData("""  , "max_position_embeddings": 1000000000 """, "max_position_embeddings")]
    [InlineData("""  , "intermediate_size": 0 """, "intermediate_size")]
    [InlineData("""  , "num_key_value_heads": 8 """, "num_attention_heads")]
    [InlineData("""  , "head_dim": 100000 """, "head_dim")]
    [InlineData("""  , "partial_rotary_factor": 1.5 """, "rotary")]
    public void OutOfRangeValuesAreRefusedNamingFileAndField(string extra, string field)
    {
        var e = Assert.Throws<ModelException>(() => Parse(extra));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void LayerCountIsCheckedBeforeLayerTablesAreBuilt()
    {
        // Qwen's sliding layers were a bool per layer, built from num_hidden_layers before any check.
        using var doc = JsonDocument.Parse("""
            {"model_type": "qwen2", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2000000000,
             "intermediate_size": 128, "vocab_size": 100, "use_sliding_window": true, "sliding_window": 16}
            """);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ModelException>(() => ModelConfig.Parse(doc.RootElement, "config.json"));
        Assert.Contains("num_hidden_layers", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void GemmaTextConfigFieldsAreNamedWithTheirObject()
    {
        using var doc = JsonDocument.Parse("""{"model_type": "gemma3", "text_config": {"rope_theta": 0}}""");
        var e = Assert.Throws<ModelException>(() => ModelConfig.Parse(doc.RootElement, "config.json"));
        Assert.Contains("rope_theta", e.Message);
    }

    [Fact]
    public void AConfigThatIsADeviceOrAFifoIsRefusedWithoutReading()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new Fixtures.TempDir();
        File.CreateSymbolicLink(dir.File("config.json"), "/dev/zero");
        var refused = Deadline.Within(10, () => Assert.Throws<ModelException>(() => ModelConfig.FromFolder(dir.Path)));
        Assert.Contains("character device", refused.Message);

        using var dir2 = new Fixtures.TempDir();
        SpecialFiles.Fifo(dir2.File("config.json"));
        refused = Deadline.Within(10, () => Assert.Throws<ModelException>(() => ModelConfig.FromFolder(dir2.Path)));
        Assert.Contains("FIFO", refused.Message);
    }

    [Fact]
    public void InvalidUtf8AndRepeatedKeysAreModelErrorsOrRead()
    {
        using var dir = new Fixtures.TempDir();
        var path = dir.File("config.json");
        File.WriteAllBytes(path, [.. "{\"model_type\": \"gpt2\", \"activation_function\": \""u8, 0xc3, .. "\"}"u8]);
        Assert.Contains("UTF-8", Assert.Throws<ModelException>(() => ModelConfig.FromFolder(dir.Path)).Message);
        // Gemma 3's outer tie_word_embeddings used to be merged into a JsonObject copy, which throws on a repeated key.
        File.WriteAllText(path, """{"model_type": "gemma3", "tie_word_embeddings": false, "text_config": {"num_hidden_layers": 6, "num_hidden_layers": 6}}""");
        var c = ModelConfig.FromFolder(dir.Path);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal(6, c.Layers);
    }
}
