using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Engine.Tests;

/// <summary>Hand-made bad model folders: each gives a clear ModelVis error, none executes anything or crashes.</summary>
public class BadCheckpointTests
{
    static Fixtures.TempDir CopyOf(string model, Action<JsonObject>? editConfig = null)
    {
        var dir = new Fixtures.TempDir();
        foreach (var f in Directory.GetFiles(Fixtures.Model(model)))
            File.Copy(f, dir.File(Path.GetFileName(f)));
        if (editConfig is not null)
        {
            var json = JsonNode.Parse(File.ReadAllText(dir.File("config.json")))!.AsObject();
            editConfig(json);
            File.WriteAllText(dir.File("config.json"), json.ToJsonString());
        }
        return dir;
    }

    [Fact]
    public void Unknown_model_type_lists_the_supported_ones()
    {
        using var dir = CopyOf("tiny-gpt2", c => c["model_type"] = "mamba");
        var e = Assert.Throws<ModelException>(() => ModelLoader.Load(dir.Path));
        Assert.Contains("\"mamba\"", e.Message);
        foreach (var t in new[] { "gpt2", "bert", "roberta", "distilbert", "llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "gemma3", "olmo2", "phi3", "gpt_neox" })
            Assert.Contains($"{t},", e.Message + ",");
    }

    [Fact]
    public void Config_missing_what_the_family_needs_says_which_key()
    {
        using var dir = CopyOf("tiny-llama", c => c.Remove("num_hidden_layers"));
        Assert.Contains("num_hidden_layers", Assert.Throws<ModelException>(() => ModelLoader.Load(dir.Path)).Message);
    }

    [Fact]
    public void Missing_config_is_reported()
    {
        using var dir = new Fixtures.TempDir();
        Assert.Contains("config.json", Assert.Throws<ModelException>(() => ModelLoader.Load(dir.Path)).Message);
    }

    [Fact]
    public void Truncated_weights_are_reported_with_the_tensor()
    {
        using var dir = CopyOf("tiny-gpt2");
        var path = dir.File("model.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<CheckpointException>(() => ModelLoader.Load(dir.Path));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Weights_of_the_wrong_shape_for_the_config_name_the_tensor_and_both_shapes()
    {
        using var dir = CopyOf("tiny-llama", c => c["num_key_value_heads"] = 4);
        var e = Assert.Throws<ModelException>(() => ModelLoader.Load(dir.Path));
        Assert.Contains("model.layers.0.self_attn.k_proj.weight", e.Message);
        Assert.Contains("[16, 64]", e.Message);
        Assert.Contains("[32, 64]", e.Message);
    }

    [Fact]
    public void Weights_of_another_architecture_name_the_missing_tensor()
    {
        using var dir = CopyOf("tiny-gpt2", c =>
        {
            c["model_type"] = "llama"; c["hidden_size"] = 64; c["num_attention_heads"] = 4;
            c["num_hidden_layers"] = 2; c["intermediate_size"] = 256;
        });
        var e = Assert.Throws<ModelException>(() => ModelLoader.Load(dir.Path));
        Assert.Contains("embed_tokens.weight", e.Message);
    }

    [Fact]
    public void Malicious_pickle_checkpoint_is_refused_and_never_runs()
    {
        using var dir = new Fixtures.TempDir();
        File.Copy(Path.Combine(Fixtures.Model("tiny-gpt2"), "config.json"), dir.File("config.json"));
        var marker = dir.File("pwned");
        // A torch-style zip whose data.pkl calls os.system("touch <marker>") when unpickled: GLOBAL posix.system, REDUCE.
        var pickle = new MemoryStream();
        pickle.Write([0x80, 0x02]);                                        // PROTO 2
        pickle.Write(Encoding.ASCII.GetBytes("cposix\nsystem\n"));         // GLOBAL posix.system
        var command = Encoding.ASCII.GetBytes("touch " + marker);
        pickle.WriteByte((byte)'X');                                        // BINUNICODE
        pickle.Write(BitConverter.GetBytes(command.Length));
        pickle.Write(command);
        pickle.Write([0x85, (byte)'R', (byte)'.']);                       // TUPLE1, REDUCE, STOP
        using (var zip = ZipFile.Open(dir.File("pytorch_model.bin"), ZipArchiveMode.Create))
        {
            using var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open();
            s.Write(pickle.ToArray());
        }
        var e = Record.Exception(() => ModelLoader.Load(dir.Path));
        Assert.NotNull(e);
        Assert.True(e is CheckpointException or ModelException, $"expected a ModelVis error, got {e!.GetType().Name}: {e.Message}");
        Assert.False(File.Exists(marker));
    }
}
