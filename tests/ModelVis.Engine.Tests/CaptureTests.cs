using ModelVis.Models;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Engine.Tests;

/// <summary>The capture API others build on: what is kept, streaming, on-demand attention, the logit lens.</summary>
public class CaptureTests
{
    static readonly int[] Ids = [386, 10, 415, 335, 493, 959, 313];

    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-bert")]
    [InlineData("tiny-llama")]
    public void What_was_not_asked_is_not_kept(string name)
    {
        var model = ConformanceTests.ModelOf(name);
        var r = model.Forward(new ForwardInput(Ids), new CaptureRequest(AttentionLayers: new HashSet<int> { 1 }, HiddenStates: false, Logits: false));
        Assert.Null(r.Logits);
        Assert.Null(r.HiddenStates);
        Assert.Empty(r.MlpActivations);
        Assert.Equal([1], r.Attentions.Keys);
        Assert.Equal([model.Config.Heads, Ids.Length, Ids.Length], r.Attentions[1].Shape);
        Assert.Equal(["attentions.1"], r.Named().Select(p => p.Key));
    }

    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-bert")]
    [InlineData("tiny-llama")]
    public void Layers_stream_in_order_with_the_same_tensors_as_the_result(string name)
    {
        var model = ConformanceTests.ModelOf(name);
        var seen = new List<LayerCapture>();
        var r = model.Forward(new ForwardInput(Ids), CaptureRequest.All(model.Config.Layers), onLayer: seen.Add);
        Assert.Equal(Enumerable.Range(0, model.Config.Layers), seen.Select(s => s.Layer));
        foreach (var s in seen)
        {
            Assert.Same(r.Attentions[s.Layer], s.Attention);
            Assert.Same(r.HiddenStates![s.Layer + 1], s.HiddenState);
            Assert.Same(r.MlpActivations[s.Layer], s.MlpActivation);
            Assert.Equal([Ids.Length, model.Config.Intermediate], s.MlpActivation!.Shape);
        }
    }

    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-bert")]
    [InlineData("tiny-llama")]
    [InlineData("stories260K")]
    public void Attention_recomputed_from_a_cached_hidden_state_equals_the_captured_one(string name)
    {
        var model = ConformanceTests.ModelOf(name);
        var input = new ForwardInput(Ids.Select(i => i % model.Config.Vocab).ToArray());
        var r = model.Forward(input, CaptureRequest.All(model.Config.Layers));
        for (int l = 0; l < model.Config.Layers; l++)
            Assert.Equal(r.Attentions[l].Data, model.AttentionOfLayer(l, r.HiddenStates![l].Data, input));
    }

    [Theory]
    [InlineData("tiny-gpt2", true)]
    [InlineData("tiny-llama", true)]
    [InlineData("tiny-bert", false)]
    public void Logit_lens_of_the_final_state_gives_the_logits(string name, bool hasFinalNorm)
    {
        var model = ConformanceTests.ModelOf(name);
        var r = model.Forward(new ForwardInput(Ids), new CaptureRequest(HiddenStates: true, Logits: true));
        int L = model.Config.Layers, n = Ids.Length;
        // hidden_states.L already has the final norm applied (as HF), so the lens must not apply it again.
        Assert.Equal(r.Logits!.Data, model.Unembed(r.HiddenStates![L].Data, n, applyFinalNorm: false));
        if (hasFinalNorm)
        {
            // On an intermediate state the norm matters: with and without differ.
            var normed = model.Unembed(r.HiddenStates[1].Data, n, applyFinalNorm: true);
            var raw = model.Unembed(r.HiddenStates[1].Data, n, applyFinalNorm: false);
            Assert.NotEqual(normed, raw);
        }
    }

    [Fact]
    public void Padding_rows_of_bert_match_the_unpadded_run_up_to_rounding()
    {
        var model = ConformanceTests.ModelOf("tiny-bert");
        var plain = model.Forward(new ForwardInput(Ids), new CaptureRequest(Logits: true));
        var padded = model.Forward(new ForwardInput([.. Ids, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 0, 0, 0]), new CaptureRequest(Logits: true));
        for (int i = 0; i < Ids.Length * model.Config.Vocab; i++)
            Assert.True(Math.Abs(plain.Logits!.Data[i] - padded.Logits!.Data[i]) < 1e-5);
    }

    [Fact]
    public void Bad_inputs_give_model_errors()
    {
        var model = ConformanceTests.ModelOf("tiny-gpt2");
        Assert.Contains("outside the vocabulary", Assert.Throws<ModelException>(() => model.Forward(new ForwardInput([1, 1000]), CaptureRequest.LogitsOnly)).Message);
        Assert.Contains("no tokens", Assert.Throws<ModelException>(() => model.Forward(new ForwardInput([]), CaptureRequest.LogitsOnly)).Message);
        Assert.Contains("128", Assert.Throws<ModelException>(() => model.Forward(new ForwardInput(new int[129]), CaptureRequest.LogitsOnly)).Message);
        Assert.Contains("mask", Assert.Throws<ModelException>(() => model.Forward(new ForwardInput([1, 2], [1]), CaptureRequest.LogitsOnly)).Message);
        Assert.Contains("layer 5", Assert.Throws<ModelException>(() => model.AttentionOfLayer(5, new float[64], new ForwardInput([1]))).Message);
    }

    [Fact]
    public void Cancellation_stops_a_forward_pass()
    {
        var model = ConformanceTests.ModelOf("tiny-llama");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => model.Forward(new ForwardInput(Ids), CaptureRequest.LogitsOnly, cts.Token));
    }

    [Fact]
    public void Capture_request_parses_the_cli_list()
    {
        var r = CaptureRequest.Parse("attentions, logits", 3);
        Assert.Equal([0, 1, 2], r.AttentionLayers!.Order());
        Assert.True(r.Logits);
        Assert.False(r.HiddenStates);
        Assert.Contains("unknown capture item", Assert.Throws<ModelException>(() => CaptureRequest.Parse("attention", 3)).Message);
    }
}

/// <summary>Qwen2 and Mistral share the Llama code; built from tiny-llama's weights, they must agree with it where the math agrees.</summary>
public class LlamaVariantTests
{
    static Fixtures.TempDir Variant(string modelType, Action<System.Text.Json.Nodes.JsonObject> editConfig, bool zeroQkvBiases)
    {
        var dir = new Fixtures.TempDir();
        var source = Fixtures.Model("tiny-llama");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        json["model_type"] = modelType;
        editConfig(json);
        File.WriteAllText(dir.File("config.json"), json.ToJsonString());
        using var ckpt = new ModelVis.Checkpoints.SafetensorsFile(Path.Combine(source, "model.safetensors"));
        var writer = new ModelVis.Checkpoints.SafetensorsWriter();
        foreach (var t in ckpt.Tensors)
        {
            writer.Add(t.Name, ModelVis.Checkpoints.CheckpointExtensions.ReadFloats(ckpt, t), t.Shape);
            if (zeroQkvBiases && (t.Name.EndsWith("q_proj.weight") || t.Name.EndsWith("k_proj.weight") || t.Name.EndsWith("v_proj.weight")))
                writer.Add(t.Name.Replace(".weight", ".bias"), new float[t.Shape[0]], t.Shape[0]);
        }
        writer.Save(dir.File("model.safetensors"));
        return dir;
    }

    static readonly int[] Ids = Enumerable.Range(0, 20).Select(i => (i * 37 + 5) % 1000).ToArray();

    [Fact]
    public void Qwen2_with_zero_qkv_biases_equals_llama()
    {
        using var dir = Variant("qwen2", _ => { }, zeroQkvBiases: true);
        using var qwen = ModelLoader.Load(dir.Path);
        var expected = ConformanceTests.ModelOf("tiny-llama").Forward(new ForwardInput(Ids), CaptureRequest.LogitsOnly).Logits!.Data;
        Assert.Equal(expected, qwen.Forward(new ForwardInput(Ids), CaptureRequest.LogitsOnly).Logits!.Data);
    }

    [Fact]
    public void Qwen2_without_its_biases_is_refused()
    {
        using var dir = Variant("qwen2", _ => { }, zeroQkvBiases: false);
        Assert.Contains("q_proj.bias", Assert.Throws<ModelException>(() => ModelLoader.Load(dir.Path)).Message);
    }

    [Fact]
    public void Mistral_sliding_window_hides_keys_older_than_the_window()
    {
        using var wide = Variant("mistral", c => c["sliding_window"] = 4096, zeroQkvBiases: false);
        using var narrow = Variant("mistral", c => c["sliding_window"] = 5, zeroQkvBiases: false);
        using var a = ModelLoader.Load(wide.Path);
        using var b = ModelLoader.Load(narrow.Path);
        var request = new CaptureRequest(new HashSet<int> { 0 }, Logits: true);
        var llama = ConformanceTests.ModelOf("tiny-llama").Forward(new ForwardInput(Ids), request);
        Assert.Equal(llama.Logits!.Data, a.Forward(new ForwardInput(Ids), request).Logits!.Data);
        var p = b.Forward(new ForwardInput(Ids), request).Attentions[0];
        int n = Ids.Length;
        for (int h = 0; h < p.Shape[0]; h++)
            for (int i = 0; i < n; i++)
            {
                double sum = 0;
                for (int j = 0; j < n; j++)
                {
                    float v = p.Data[(h * n + i) * n + j];
                    if (j > i || i - j >= 5) Assert.Equal(0f, v);
                    sum += v;
                }
                Assert.Equal(1.0, sum, 5);
            }
    }

    [Fact]
    public void Llama3_rope_scaling_in_config_is_read_and_used()
    {
        using var dir = Variant("llama", c => c["rope_scaling"] = System.Text.Json.Nodes.JsonNode.Parse("""{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16}"""), zeroQkvBiases: false);
        using var scaled = ModelLoader.Load(dir.Path);
        Assert.Equal("llama3", scaled.Config.RopeScaling!.Type);
        var plain = ConformanceTests.ModelOf("tiny-llama").Forward(new ForwardInput(Ids), CaptureRequest.LogitsOnly).Logits!.Data;
        Assert.NotEqual(plain, scaled.Forward(new ForwardInput(Ids), CaptureRequest.LogitsOnly).Logits!.Data);

        using var bad = Variant("llama", c => c["rope_scaling"] = System.Text.Json.Nodes.JsonNode.Parse("""{"type": "longrope", "factor": 2.0}"""), zeroQkvBiases: false);
        Assert.Contains("longrope", Assert.Throws<ModelException>(() => ModelLoader.Load(bad.Path)).Message);
    }
}
