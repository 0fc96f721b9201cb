using System.Text.Json;
using System.Text.Json.Nodes;
using ModelVis.Checkpoints;
using ModelVis.Models;
using ModelVis.Tests;
using Xunit;

namespace ModelVis.Engine.Tests;

/// <summary>
/// The newer decoder families beyond the fixture cases: the other forms their hub configs take (older keys,
/// defaults left out, a multimodal wrapper), each run against the reference's logits, and the variants no
/// fixture case exercises (GPT-NeoX's sequential residual) checked against another family computing the same thing.
/// </summary>
public class ArchitectureTests
{
    static ModelConfig Config(string model, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.Model(model), "config.json")))!.AsObject();
        edit(json);
        using var doc = JsonDocument.Parse(json.ToJsonString());
        return ModelConfig.Parse(doc.RootElement);
    }

    /// <summary>A copy of a fixture model with an edited config.json and, optionally, renamed or rewritten tensors.</summary>
    static Fixtures.TempDir CopyOf(string model, Action<JsonObject> editConfig, Func<string, float[], long[], (string, float[], long[])?>? tensor = null)
    {
        var dir = new Fixtures.TempDir();
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.Model(model), "config.json")))!.AsObject();
        editConfig(json);
        File.WriteAllText(dir.File("config.json"), json.ToJsonString());
        using var source = new SafetensorsFile(Path.Combine(Fixtures.Model(model), "model.safetensors"));
        var writer = new SafetensorsWriter();
        foreach (var t in source.Tensors)
        {
            var shape = t.Shape.ToArray();
            var values = source.ReadFloats(t);
            if (tensor?.Invoke(t.Name, values, shape) is not { } kept) continue;
            writer.Add(kept.Item1, kept.Item2, kept.Item3);
        }
        writer.Save(dir.File("model.safetensors"));
        return dir;
    }

    static (float[] Logits, float[] Reference) RunCase(string folder, string fixture, string caseName)
    {
        using var expected = new SafetensorsFile(Fixtures.Expected(fixture, caseName + ".safetensors"));
        using var model = ModelLoader.Load(folder);
        var result = model.Forward(new ForwardInput(ConformanceTests.Ints(expected, "input_ids")), CaptureRequest.LogitsOnly);
        return (result.Logits!.Data, expected.ReadFloats(expected.Tensors.First(t => t.Name == "logits")));
    }

    static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"max |diff| {worst:E3} > {tolerance:E1}");
    }

    [Fact]
    public void Gemma2_without_layer_types_slides_on_the_even_layers_as_older_transformers_did()
    {
        var config = Config("tiny-gemma2", c => c.Remove("layer_types"));
        Assert.Equal([true, false, true], config.SlidingLayers);
        using var dir = CopyOf("tiny-gemma2", c => c.Remove("layer_types"), (n, v, s) => (n, v, s));
        var (logits, reference) = RunCase(dir.Path, "tiny-gemma2", "len40");
        AssertClose(reference, logits, 1e-4);
    }

    [Fact]
    public void Gemma2_soft_caps_default_when_left_out_and_are_off_when_null()
    {
        var absent = Config("tiny-gemma2", c => { c.Remove("attn_logit_softcapping"); c.Remove("final_logit_softcapping"); });
        Assert.Equal((50f, 30f), (absent.AttnLogitSoftcap, absent.FinalLogitSoftcap));
        var nulls = Config("tiny-gemma2", c => { c["attn_logit_softcapping"] = null; c["final_logit_softcapping"] = null; });
        Assert.Equal((0f, 0f), (nulls.AttnLogitSoftcap, nulls.FinalLogitSoftcap));
        var fixture = Config("tiny-gemma2", _ => { });
        Assert.Equal((10f, 3f, 16.0), (fixture.AttnLogitSoftcap, fixture.FinalLogitSoftcap, fixture.QueryPreAttnScalar));
        Assert.True(fixture.TieWordEmbeddings); // left out of config.json: Gemma's default
    }

    [Fact]
    public void Gemma3_with_only_sliding_window_pattern_keeps_every_third_layer_global()
    {
        static void OldForm(JsonObject c) { c.Remove("layer_types"); c.Remove("_sliding_window_pattern"); }
        Assert.Equal([true, true, false], Config("tiny-gemma3", OldForm).SlidingLayers);
        Assert.Equal([true, true, true], Config("tiny-gemma3", c => { OldForm(c); c.Remove("sliding_window_pattern"); }).SlidingLayers); // default 6
        Assert.Equal(0f, Config("tiny-gemma3", c => c["attn_logit_softcapping"] = 50.0).AttnLogitSoftcap);                     // ignored, as transformers does
        using var dir = CopyOf("tiny-gemma3", OldForm, (n, v, s) => (n, v, s));
        var (logits, reference) = RunCase(dir.Path, "tiny-gemma3", "len40");
        AssertClose(reference, logits, 1e-4);
    }

    [Fact]
    public void Gemma3_multimodal_checkpoint_runs_its_language_model()
    {
        // Gemma3ForConditionalGeneration: the text settings in text_config, the decoder under language_model.model.
        using var dir = CopyOf("tiny-gemma3",
            c =>
            {
                var text = JsonNode.Parse(c.ToJsonString())!.AsObject();
                foreach (var key in c.Select(p => p.Key).ToArray()) c.Remove(key);
                c["model_type"] = "gemma3";
                c["architectures"] = new JsonArray("Gemma3ForConditionalGeneration");
                c["text_config"] = text;
                c["vision_config"] = new JsonObject { ["model_type"] = "siglip_vision_model" };
            },
            (n, v, s) => ("language_model." + n, v, s));
        var (logits, reference) = RunCase(dir.Path, "tiny-gemma3", "len7");
        AssertClose(reference, logits, 1e-4);
    }

    [Fact]
    public void Phi3_reads_longrope_under_its_old_names_and_without_partial_rotary()
    {
        var su = Config("tiny-phi3", c => c["rope_scaling"]!["type"] = "su");
        Assert.Equal("longrope", su.RopeScaling!.Type);
        Assert.Equal(32, su.RopeScaling.OriginalMaxPositions);
        Assert.Equal(12, su.RotaryDim);
        Assert.Equal(16, Config("tiny-phi3", c => c.Remove("partial_rotary_factor")).RotaryDim);
        Assert.Null(Config("tiny-phi3", c => c["rope_scaling"] = null).RopeScaling);
        // The fixture's factor lists fit rotary_dim 12 (6 values); a full-width rotary needs 8.
        using var dir = CopyOf("tiny-phi3", c => c.Remove("partial_rotary_factor"), (n, v, s) => (n, v, s));
        Assert.Contains("short_factor needs 8 values", Assert.Throws<ModelException>(() => ModelLoader.Load(dir.Path)).Message);
    }

    [Fact]
    public void Qwen3_slides_only_from_max_window_layers_when_use_sliding_window()
    {
        Assert.Null(Config("tiny-qwen3", _ => { }).SlidingLayers);
        Assert.Equal(0, Config("tiny-qwen3", _ => { }).SlidingWindow);
        var sliding = Config("tiny-qwen3", c => { c["use_sliding_window"] = true; c["sliding_window"] = 8; c["max_window_layers"] = 1; });
        Assert.Equal(8, sliding.SlidingWindow);
        Assert.Equal([false, true], sliding.SlidingLayers);
    }

    [Fact]
    public void GptNeoX_reads_newer_key_names()
    {
        var config = Config("tiny-gpt-neox", c =>
        {
            c.Remove("rotary_pct"); c.Remove("rotary_emb_base");
            c["partial_rotary_factor"] = 0.5; c["rope_theta"] = 20000.0;
        });
        Assert.Equal((12, 20000.0), (config.RotaryDim, config.RopeTheta));
        Assert.True(Config("tiny-gpt-neox", _ => { }).ParallelResidual);
    }

    /// <summary>
    /// GPT-NeoX with no rotary, the sequential residual and gelu_new is GPT-2 without position embeddings: build that
    /// NeoX checkpoint from tiny-gpt2's weights (Conv1D [in, out] → Linear [out, in], c_attn's [all q | all k | all v]
    /// → query_key_value's per-head [q_h; k_h; v_h]) and compare it with the GPT-2 engine on wpe = 0.
    /// </summary>
    [Fact]
    public void GptNeoX_sequential_residual_equals_gpt2_without_positions()
    {
        const int d = 64, heads = 4, hd = d / heads, layers = 2, vocab = 1000;
        static float[] Transpose(float[] w, int rows, int cols)
        {
            var t = new float[w.Length];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
            return t;
        }
        // Row block h of query_key_value is [q_h; k_h; v_h]; c_attn's output column j is part (j / d), head (j % d) / hd.
        static int PerHeadRow(int column) { int part = column / d, head = column % d / hd, i = column % hd; return head * 3 * hd + part * hd + i; }

        using var gpt2 = CopyOf("tiny-gpt2", _ => { }, (n, v, s) => n.EndsWith("wpe.weight") ? (n, new float[v.Length], s) : (n, v, s));
        using var neox = CopyOf("tiny-gpt2",
            c =>
            {
                foreach (var key in c.Select(p => p.Key).ToArray()) c.Remove(key);
                c["model_type"] = "gpt_neox"; c["hidden_size"] = d; c["num_attention_heads"] = heads; c["num_hidden_layers"] = layers;
                c["intermediate_size"] = 4 * d; c["vocab_size"] = vocab; c["max_position_embeddings"] = 128; c["layer_norm_eps"] = 1e-5;
                c["hidden_act"] = "gelu_new"; c["rotary_pct"] = 0.0; c["use_parallel_residual"] = false; c["tie_word_embeddings"] = true;
            },
            (name, v, s) =>
            {
                if (name.EndsWith("wpe.weight")) return null;
                name = name.Replace("transformer.", "gpt_neox.").Replace("wte.", "embed_in.").Replace("ln_f.", "final_layer_norm.")
                    .Replace(".h.", ".layers.").Replace("ln_1.", "input_layernorm.").Replace("ln_2.", "post_attention_layernorm.")
                    .Replace("attn.c_proj.", "attention.dense.").Replace("mlp.c_fc.", "mlp.dense_h_to_4h.").Replace("mlp.c_proj.", "mlp.dense_4h_to_h.");
                if (name.Contains("attn.c_attn."))
                {
                    name = name.Replace("attn.c_attn.", "attention.query_key_value.");
                    if (s.Length == 1)
                    {
                        var bias = new float[3 * d];
                        for (int j = 0; j < 3 * d; j++) bias[PerHeadRow(j)] = v[j];
                        return (name, bias, s);
                    }
                    var linear = Transpose(v, d, 3 * d);                 // [3d, d]: row j = output column j
                    var qkv = new float[linear.Length];
                    for (int j = 0; j < 3 * d; j++) Array.Copy(linear, j * d, qkv, PerHeadRow(j) * d, d);
                    return (name, qkv, [3 * d, d]);
                }
                if (s.Length == 2 && name.Contains(".layers.") && name.EndsWith(".weight"))
                    return (name, Transpose(v, (int)s[0], (int)s[1]), [s[1], s[0]]);
                return (name, v, s);
            });

        var ids = new[] { 5, 17, 999, 0, 42, 42, 7, 300, 301, 5 };
        using var a = ModelLoader.Load(gpt2.Path);
        using var b = ModelLoader.Load(neox.Path);
        Assert.IsType<GptNeoX>(b);
        var request = new CaptureRequest(Enumerable.Range(0, layers).ToHashSet(), HiddenStates: true);
        var expected = a.Forward(new ForwardInput(ids), request);
        var actual = b.Forward(new ForwardInput(ids), request);
        AssertClose(expected.Logits!.Data, actual.Logits!.Data, 1e-5);
        for (int l = 0; l < layers; l++) AssertClose(expected.Attentions[l].Data, actual.Attentions[l].Data, 1e-6);
        for (int k = 0; k <= layers; k++) AssertClose(expected.HiddenStates![k].Data, actual.HiddenStates![k].Data, 1e-5);
    }

    // ---------------------------------------------------------------- T5

    static ForwardInput T5Input(SafetensorsFile expected) => new(ConformanceTests.Ints(expected, "input_ids"),
        ConformanceTests.Ints(expected, "attention_mask"), null, ConformanceTests.Ints(expected, "decoder_input_ids"));

    [Fact]
    public void T5_buckets_match_the_reference_tables_of_every_case()
    {
        int checkedCount = 0;
        foreach (var json in Directory.GetFiles(Path.Combine(Fixtures.Root, "expected", "tiny-t5"), "*.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
            var tables = doc.RootElement.GetProperty("relative_position_buckets");
            foreach (var (name, bidirectional) in new[] { ("encoder_bidirectional", true), ("decoder_unidirectional", false) })
            {
                var t = tables.GetProperty(name);
                var rel = t.GetProperty("relative_position").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var bucket = t.GetProperty("bucket").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                for (int i = 0; i < rel.Length; i++, checkedCount++)
                    Assert.Equal(bucket[i], T5.RelativePositionBucket(rel[i], bidirectional, 32, 32));
            }
        }
        Assert.True(checkedCount > 100);
        // t5-small's buckets (32, max distance 128) at the edges of the logarithmic range: 8 exact, then log-spaced up to 15.
        Assert.Equal([0, 7, 8, 8, 9, 15, 15], new[] { 0, -7, -8, -11, -12, -127, -1000 }.Select(r => T5.RelativePositionBucket(r, true, 32, 128)));
        Assert.Equal([16 + 1, 16 + 15], new[] { 1, 500 }.Select(r => T5.RelativePositionBucket(r, true, 32, 128)));
        Assert.Equal([0, 0, 5, 16, 31], new[] { 3, 0, -5, -16, -128 }.Select(r => T5.RelativePositionBucket(r, false, 32, 128)));
    }

    [Fact]
    public void T5_reads_hub_configs_with_their_defaults_and_gated_gelu()
    {
        // t5-small's config.json: no num_decoder_layers, relative_attention_max_distance or feed_forward_proj.
        using var small = JsonDocument.Parse("""
            {"architectures":["T5ForConditionalGeneration"],"d_ff":2048,"d_kv":64,"d_model":512,"decoder_start_token_id":0,"dropout_rate":0.1,
             "eos_token_id":1,"initializer_factor":1.0,"is_encoder_decoder":true,"layer_norm_epsilon":1e-06,"model_type":"t5","n_positions":512,
             "num_heads":8,"num_layers":6,"output_past":true,"pad_token_id":0,"relative_attention_num_buckets":32,"vocab_size":32128}
            """);
        var c = ModelConfig.Parse(small.RootElement);
        Assert.Equal((6, 6, 8, 64, 512, 2048, 128, 32), (c.EncoderLayers, c.Layers, c.Heads, c.HeadDim, c.Hidden, c.Intermediate, c.RelativeAttentionMaxDistance, c.RelativeAttentionBuckets));
        Assert.Equal(("relu", false, true, 0, 1), (c.Activation, c.GatedMlp, c.TieWordEmbeddings, c.DecoderStartTokenId, c.EosTokenIds.Single()));
        Assert.True(c.IsEncoderDecoder);
        // flan-t5-small: gated-gelu (the tanh GELU), untied head, decoder depth given.
        using var flan = JsonDocument.Parse("""
            {"d_ff":1024,"d_kv":64,"d_model":512,"decoder_start_token_id":0,"eos_token_id":1,"feed_forward_proj":"gated-gelu","layer_norm_epsilon":1e-06,
             "model_type":"t5","n_positions":512,"num_decoder_layers":8,"num_heads":6,"num_layers":8,"pad_token_id":0,
             "relative_attention_max_distance":128,"relative_attention_num_buckets":32,"tie_word_embeddings":false,"vocab_size":32128}
            """);
        var f = ModelConfig.Parse(flan.RootElement);
        Assert.Equal(("gelu_new", true, false, 8, 8), (f.Activation, f.GatedMlp, f.TieWordEmbeddings, f.Layers, f.EncoderLayers));
        // dense_act_fn and is_gated_act written out (newer save_pretrained) win; a malformed feed_forward_proj is refused.
        var written = Config("tiny-t5", j => { j["feed_forward_proj"] = "gated-gelu"; j["dense_act_fn"] = "gelu"; j["is_gated_act"] = true; });
        Assert.Equal(("gelu", true), (written.Activation, written.GatedMlp));
        Assert.Contains("gated-ACT", Assert.Throws<ModelException>(() => Config("tiny-t5", j => { j["feed_forward_proj"] = "relu-gated"; j.Remove("dense_act_fn"); })).Message);
    }

    [Fact]
    public void T5_untied_head_is_not_rescaled()
    {
        // An untied lm_head equal to shared · d_model^-½ must give the tied model's logits (the rescale moved into the weights).
        float scale = (float)Math.Pow(64, -0.5);
        using var dir = CopyOf("tiny-t5", c => c["tie_word_embeddings"] = false);
        using (var w = new SafetensorsFile(Path.Combine(Fixtures.Model("tiny-t5"), "model.safetensors")))
        {
            var shared = w.ReadFloats(w.Tensors.First(t => t.Name == "shared.weight"));
            var writer = new SafetensorsWriter();
            foreach (var t in w.Tensors) writer.Add(t.Name, w.ReadFloats(t), t.Shape.ToArray());
            writer.Add("lm_head.weight", shared.Select(x => x * scale).ToArray(), 1000, 64);
            writer.Save(dir.File("model.safetensors"));
        }
        using var expected = new SafetensorsFile(Fixtures.Expected("tiny-t5", "enc7_dec5.safetensors"));
        using var model = ModelLoader.Load(dir.Path);
        Assert.False(model.Config.TieWordEmbeddings);
        var logits = model.Forward(T5Input(expected), CaptureRequest.LogitsOnly).Logits!.Data;
        AssertClose(expected.ReadFloats(expected.Tensors.First(t => t.Name == "logits")), logits, 1e-4);
    }

    [Fact]
    public void T5_greedy_generation_agrees_with_the_forward_pass_and_decoder_attention_recomputes()
    {
        var model = ConformanceTests.ModelOf("tiny-t5");
        using var expected = new SafetensorsFile(Fixtures.Expected("tiny-t5", "enc9_pad2_dec5.safetensors"));
        var encoderIds = T5Input(expected).Ids[..7];                      // the unpadded source
        var generated = model.Generate(encoderIds, 6, stopAtEos: false);
        Assert.Equal(6, generated.Length);
        // Teacher-forcing the generated ids: each position's argmax is the next generated id.
        int[] decoderIds = [model.Config.DecoderStartTokenId, .. generated];
        var result = model.Forward(new ForwardInput(encoderIds, DecoderIds: decoderIds), CaptureRequest.All(model.Config));
        for (int i = 0; i < generated.Length; i++)
            Assert.Equal(generated[i], System.Numerics.Tensors.TensorPrimitives.IndexOfMax(result.Logits!.Row(i)));
        Assert.Equal(encoderIds, result.Encoder!.Ids);
        Assert.Equal([model.Config.Heads, decoderIds.Length, encoderIds.Length], result.CrossAttentions[2].Shape);
        // The decoder's self-attention of a block, recomputed from its input, is the one the pass kept.
        for (int l = 0; l < model.Config.Layers; l++)
            AssertClose(result.Attentions[l].Data, model.AttentionOfLayer(l, result.HiddenStates![l].Data, new ForwardInput(encoderIds, DecoderIds: decoderIds)), 1e-6);
    }

    [Fact]
    public void Decoder_ids_are_refused_by_decoder_only_models_and_required_by_T5()
    {
        var t5 = ConformanceTests.ModelOf("tiny-t5");
        Assert.Contains("decoder", Assert.Throws<ModelException>(() => t5.Forward(new ForwardInput([5, 6, 1]), CaptureRequest.LogitsOnly)).Message);
        Assert.Contains("outside the vocabulary", Assert.Throws<ModelException>(() => t5.Forward(new ForwardInput([5, 6, 1], DecoderIds: [0, 1000]), CaptureRequest.LogitsOnly)).Message);
        var gpt2 = ConformanceTests.ModelOf("tiny-gpt2");
        Assert.Contains("not an encoder-decoder", Assert.Throws<ModelException>(() => gpt2.Forward(new ForwardInput([5, 6], DecoderIds: [0]), CaptureRequest.LogitsOnly)).Message);
    }
}
